from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from venn_plugins.sql_agent.models import QuerySource, QueryStatus, StatementKind, Verdict
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('venn', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='SqlQuery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread_id', fields.BigIntField(null=True)),
                ('channel_id', fields.BigIntField()),
                ('user_id', fields.BigIntField(null=True)),
                ('username', fields.CharField(default='', description='kept as text too, so the entry still says who after the account is gone', max_length=32)),
                ('source', fields.CharEnumField(description='ASK: ask\nSQL: sql\nAPI: api', enum_type=QuerySource, max_length=8)),
                ('question', fields.TextField(default='', unique=False)),
                ('status', fields.CharEnumField(default=QueryStatus.RUNNING, description='QUEUED: queued\nRUNNING: running\nDONE: done\nREFUSED: refused\nERROR: error', enum_type=QueryStatus, max_length=16)),
                ('sql', fields.TextField(null=True, description='the last statement that ran (as run, with its LIMIT)', unique=False)),
                ('columns', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('rows', fields.JSONField(null=True, description="the kept rows (at most the thread's max_rows, itself at most 10,000)", encoder=JSON_DUMPS, decoder=loads)),
                ('row_count', fields.IntField(default=0)),
                ('truncated', fields.BooleanField(default=False)),
                ('elapsed_ms', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('allow_csv', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sql_queries', 'app': 'sql', 'indexes': [Index(fields=['thread_id', 'id'], name='ix_sql_query_thread'), Index(fields=['user_id', 'id'], name='ix_sql_query_user')], 'pk_attr': 'id', 'table_description': 'A question or SQL command in a thread: who, what, the final SQL and its result.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SqlStatement',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('query', fields.ForeignKeyField('sql.SqlQuery', source_field='query_id', db_constraint=True, to_field='id', related_name='statements', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='RUN: run\nCHECK: check\nDESCRIBE: describe', enum_type=StatementKind, max_length=16)),
                ('sql', fields.TextField(description='the statement as written (by the model or the user)', unique=False)),
                ('sql_run', fields.TextField(null=True, description='what the guard made of it (with its LIMIT), null when refused', unique=False)),
                ('verdict', fields.CharEnumField(description='ALLOWED: allowed\nREFUSED: refused', enum_type=Verdict, max_length=16)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('row_count', fields.IntField(null=True)),
                ('elapsed_ms', fields.IntField(null=True)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sql_statements', 'app': 'sql', 'indexes': [Index(fields=['verdict', 'id'], name='ix_sql_statement_verdict')], 'pk_attr': 'id', 'table_description': 'A statement checked by the SQL guard for a query: verdict, reason, rows, time, error.'},
            bases=['Model'],
        ),
    ]
