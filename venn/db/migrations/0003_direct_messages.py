from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from venn.db.models import ChannelKind


class Migration(migrations.Migration):
    """Direct messages: ``channels.kind`` (existing channels become public or private)
    and ``channels.dm_key``, unique, naming a direct conversation's set of members."""

    dependencies = [("venn", "0002_reply_to")]

    operations = [
        ops.AddField(
            model_name="Channel",
            name="kind",
            field=fields.CharEnumField(ChannelKind, max_length=16, default=ChannelKind.PUBLIC, db_default=ChannelKind.PUBLIC),
        ),
        ops.RunSQL("UPDATE channels SET kind = 'private' WHERE is_private = TRUE"),
        ops.AddField(model_name="Channel", name="dm_key", field=fields.CharField(max_length=64, null=True, unique=True)),
    ]
