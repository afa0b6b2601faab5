from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Outgoing webhooks: ``event_subscriptions`` and their outbox, ``event_deliveries``."""

    dependencies = [("venn", "0009_personal_tokens")]

    operations = [
        ops.CreateModel(
            name="EventSubscription",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("url", fields.CharField(max_length=2048)),
                ("events", fields.JSONField()),
                ("channel_id", fields.BigIntField(null=True)),
                ("secret", fields.CharField(max_length=128)),
                ("created_by_id", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "event_subscriptions", "app": "venn", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EventDelivery",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("subscription", fields.ForeignKeyField("venn.EventSubscription", source_field="subscription_id", db_constraint=True, to_field="id", related_name="deliveries", on_delete=OnDelete.CASCADE)),
                ("event", fields.CharField(max_length=64)),
                ("body", fields.TextField()),
                ("status", fields.CharField(max_length=16, default="pending")),
                ("attempts", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField()),
                ("claimed_until", fields.DatetimeField(null=True)),
                ("response_code", fields.IntField(null=True)),
                ("last_error", fields.CharField(max_length=300, null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("delivered_at", fields.DatetimeField(null=True)),
            ],
            options={
                "table": "event_deliveries",
                "app": "venn",
                "indexes": [Index(fields=["subscription_id", "status", "id"], name="ix_delivery_sub_status_id")],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
