from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("venn", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="Note",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("channel_id", fields.BigIntField(db_index=True)),
                ("author_id", fields.BigIntField()),
                ("text", fields.CharField(max_length=500)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "sample_notes", "app": "notes", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
