from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """The language model's token usage of each question (prompt, completion, total); the
    questions asked before have 0 (a database default, so the columns can be added to a
    table with rows)."""

    dependencies = [("sql", "0003_knowledge")]

    operations = [
        ops.AddField(model_name="SqlQuery", name="prompt_tokens", field=fields.IntField(default=0, db_default=0)),
        ops.AddField(model_name="SqlQuery", name="completion_tokens", field=fields.IntField(default=0, db_default=0)),
        ops.AddField(model_name="SqlQuery", name="total_tokens", field=fields.IntField(default=0, db_default=0)),
    ]
