from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Administration: deactivated users, invite links and the admin audit log."""

    dependencies = [("venn", "0007_search")]

    operations = [
        ops.AddField(model_name="User", name="deactivated", field=fields.BooleanField(default=False, db_default=False)),
        ops.AddField(
            model_name="User",
            name="deactivated_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.CreateModel(
            name="Invite",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("created_by", fields.ForeignKeyField("venn.User", source_field="created_by_id", null=True,
                                                      db_constraint=True, to_field="id", related_name="invites",
                                                      on_delete=OnDelete.SET_NULL)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("max_uses", fields.IntField(null=True)),
                ("uses", fields.IntField(default=0)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "invites", "app": "venn", "pk_attr": "id",
                     "table_description": "An invite link (``VENN_REGISTRATION=invite``): registering with its code"
                                          " counts a use."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AdminAudit",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("actor", fields.ForeignKeyField("venn.User", source_field="actor_id", null=True, db_constraint=True,
                                                 to_field="id", related_name="admin_actions",
                                                 on_delete=OnDelete.SET_NULL)),
                ("actor_username", fields.CharField(default="", max_length=32)),
                ("action", fields.CharField(max_length=64)),
                ("target_type", fields.CharField(max_length=32)),
                ("target_id", fields.BigIntField(null=True)),
                ("before", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("after", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={"table": "admin_audit", "app": "venn", "pk_attr": "id",
                     "indexes": [Index(fields=["actor_id", "id"], name="ix_admin_audit_actor"),
                                 Index(fields=["target_type", "target_id", "id"], name="ix_admin_audit_target")],
                     "table_description": "One administrative action: who, when, what, on what, and the state"
                                          " before and after."},
            bases=["Model"],
        ),
    ]
