"""The curated knowledge (``sql_knowledge``) and the audit's record of the entries a question used."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from venn_plugins.sql_agent.knowledge.models import KnowledgeKind
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('sql', '0002_sql_query_chart')]

    initial = False

    operations = [
        ops.CreateModel(
            name='KnowledgeEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('warehouse', fields.CharField(description="the warehouse's label, as the running warehouse reports it", max_length=200)),
                ('kind', fields.CharEnumField(description='TABLE: table\nCOLUMN: column\nGLOSSARY: glossary\nEXAMPLE: example', enum_type=KnowledgeKind, max_length=16)),
                ('table', fields.CharField(null=True, max_length=400)),
                ('column', fields.CharField(null=True, max_length=200)),
                ('term', fields.CharField(null=True, max_length=200)),
                ('question', fields.TextField(null=True, unique=False)),
                ('sql', fields.TextField(null=True, unique=False)),
                ('description', fields.TextField(default='', unique=False)),
                ('source_query_id', fields.BigIntField(null=True, description='the audited question an example was saved from (POST /queries/{id}/verify)')),
                ('created_by_id', fields.BigIntField(null=True)),
                ('created_by', fields.CharField(default='', description='kept as text too, so the entry still says who after the account is gone', max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sql_knowledge', 'app': 'sql', 'indexes': [Index(fields=['warehouse', 'kind', 'id'], name='ix_sql_knowledge_warehouse')], 'pk_attr': 'id', 'table_description': 'Curated knowledge of a warehouse for the SQL agent: descriptions, terms, examples.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SqlQuery',
            name='knowledge_ids',
            field=fields.JSONField(null=True, description="ids of the curated knowledge entries put in the agent's prompt (migration 0003_knowledge)", encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
