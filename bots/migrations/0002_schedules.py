from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('bots', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BotSchedule',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('plugin', fields.CharField(max_length=32)),
                ('kind', fields.CharField(max_length=8)),
                ('slot', fields.CharField(max_length=200)),
                ('handler', fields.CharField(max_length=64)),
                ('channel', fields.ForeignKeyField('venn.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='bot_schedules', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('venn.Thread', source_field='thread_id', null=True, db_constraint=True, to_field='id', related_name='bot_schedules', on_delete=OnDelete.CASCADE)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('due_ms', fields.BigIntField()),
                ('lease_ms', fields.BigIntField(default=0)),
                ('data', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('user_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'bot_schedules', 'app': 'bots', 'unique_together': (('plugin', 'slot'),), 'indexes': [Index(fields=['due_ms'], name='ix_bot_schedule_due')], 'pk_attr': 'id', 'table_description': 'A scheduled run.'},
            bases=['Model'],
        ),
    ]
