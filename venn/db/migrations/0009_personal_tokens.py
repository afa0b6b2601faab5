from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Personal access tokens (``personal_tokens``): hashed secrets with scopes."""

    dependencies = [("venn", "0008_admin"), ("venn", "0008_webhooks")]

    operations = [
        ops.CreateModel(
            name="PersonalToken",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", fields.ForeignKeyField("venn.User", source_field="user_id", db_constraint=True, to_field="id", related_name="personal_tokens", on_delete=OnDelete.CASCADE)),
                ("name", fields.CharField(max_length=64)),
                ("scopes", fields.JSONField()),
                ("secret_hash", fields.CharField(max_length=64)),
                ("token_version", fields.IntField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(null=True)),
                ("last_used_at", fields.DatetimeField(null=True)),
            ],
            options={"table": "personal_tokens", "app": "venn", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
