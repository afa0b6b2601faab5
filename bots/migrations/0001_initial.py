from tortoise import migrations
from tortoise.migrations import operations as ops
from venn_bots.models import AuditAction, BotScope, StoreScope
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('venn', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='BotAuditLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('venn.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='bot_audit_entries', on_delete=OnDelete.SET_NULL)),
                ('actor_username', fields.CharField(description='kept as text too, so that the entry still says who after the account is gone', max_length=32)),
                ('action', fields.CharEnumField(description='ENABLE: enable\nUPDATE: update\nDISABLE: disable', enum_type=AuditAction, max_length=16)),
                ('plugin', fields.CharField(max_length=32)),
                ('scope', fields.CharEnumField(description='THREAD: thread\nCHANNEL: channel', enum_type=BotScope, max_length=16)),
                ('channel_id', fields.BigIntField()),
                ('thread_id', fields.BigIntField(null=True)),
                ('old_config', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('new_config', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'bot_audit_log', 'app': 'bots', 'indexes': [Index(fields=['plugin', 'id'], name='ix_bot_audit_plugin'), Index(fields=['channel_id', 'id'], name='ix_bot_audit_channel')], 'pk_attr': 'id', 'table_description': 'Who enabled, reconfigured or disabled which plugin where, with the configs before and after.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BotEnablement',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharEnumField(description='THREAD: thread\nCHANNEL: channel', enum_type=BotScope, max_length=16)),
                ('scope_id', fields.BigIntField(description="the channel's id for a channel row, the thread's id for a thread row")),
                ('channel', fields.ForeignKeyField('venn.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='bot_enablements', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('venn.Thread', source_field='thread_id', null=True, db_constraint=True, to_field='id', related_name='bot_enablements', on_delete=OnDelete.CASCADE)),
                ('plugin', fields.CharField(max_length=32)),
                ('enabled', fields.BooleanField(default=True, description='False only for a thread row that switches off a plugin its channel enables')),
                ('config', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('enabled_by', fields.ForeignKeyField('venn.User', source_field='enabled_by_id', null=True, db_constraint=True, to_field='id', related_name='bot_enablements', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'bot_enablements', 'app': 'bots', 'unique_together': (('scope', 'scope_id', 'plugin'),), 'indexes': [Index(fields=['channel_id', 'plugin'], name='ix_bot_enablement_channel')], 'pk_attr': 'id', 'table_description': 'A plugin switched on (or, for a thread, explicitly off) in a thread or a channel.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BotKV',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('plugin', fields.CharField(max_length=32)),
                ('scope', fields.CharEnumField(description='THREAD: thread\nCHANNEL: channel\nPLUGIN: plugin', enum_type=StoreScope, max_length=16)),
                ('scope_id', fields.BigIntField(description="the thread's or channel's id, 0 for the plugin's own storage")),
                ('key', fields.CharField(max_length=200)),
                ('value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'bot_kv', 'app': 'bots', 'unique_together': (('plugin', 'scope', 'scope_id', 'key'),), 'pk_attr': 'id', 'table_description': "One value of a plugin's key-value storage, scoped to a thread, a channel or the plugin."},
            bases=['Model'],
        ),
    ]
