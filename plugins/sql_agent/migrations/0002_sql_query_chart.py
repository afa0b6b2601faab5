from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("sql", "0001_initial")]

    operations = [
        ops.AddField(
            model_name="SqlQuery",
            name="chart",
            field=fields.JSONField(
                null=True,
                description="the chart drawn with the result: type, x, y and color (charts.Chart), null for none",
                encoder=JSON_DUMPS,
                decoder=loads,
            ),
        ),
    ]
