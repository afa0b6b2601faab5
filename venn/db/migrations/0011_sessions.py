from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Sign-ins (``sessions``), which access and refresh tokens now name; refresh tokens
    record theirs. Tokens issued before this name none and keep working until they expire."""

    dependencies = [("venn", "0010_event_subscriptions")]

    operations = [
        ops.CreateModel(
            name="UserSession",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", fields.ForeignKeyField("venn.User", source_field="user_id", db_constraint=True, to_field="id", related_name="sessions", on_delete=OnDelete.CASCADE)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("last_used_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("user_agent", fields.CharField(max_length=256, null=True)),
                ("client_ip", fields.CharField(max_length=64, null=True)),
            ],
            options={"table": "sessions", "app": "venn", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(model_name="RefreshToken", name="session_id", field=fields.BigIntField(null=True, db_index=True)),
    ]
