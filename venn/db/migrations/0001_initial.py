from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from venn.db.models import MemberRole, MessageKind, Role
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(max_length=32)),
                ('username_key', fields.CharField(unique=True, max_length=32)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('display_name', fields.CharField(max_length=64)),
                ('password_hash', fields.CharField(null=True, max_length=255)),
                ('role', fields.CharEnumField(default=Role.MEMBER, description='ADMIN: admin\nMEMBER: member', enum_type=Role, max_length=16)),
                ('is_bot', fields.BooleanField(default=False)),
                ('token_version', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'venn', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Channel',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=80)),
                ('topic', fields.CharField(default='', max_length=250)),
                ('is_private', fields.BooleanField(default=False)),
                ('archived', fields.BooleanField(default=False)),
                ('created_by', fields.ForeignKeyField('venn.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='created_channels', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'channels', 'app': 'venn', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('venn.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('channel', fields.ForeignKeyField('venn.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(default=MemberRole.MEMBER, description='OWNER: owner\nMEMBER: member', enum_type=MemberRole, max_length=16)),
                ('last_read_message_id', fields.BigIntField(null=True)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'memberships', 'app': 'venn', 'unique_together': (('user', 'channel'),), 'indexes': [Index(fields=['channel_id', 'user_id'], name='ix_membership_channel_user')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('jti', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('venn.User', source_field='user_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('token_version', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_tokens', 'app': 'venn', 'pk_attr': 'id', 'table_description': 'One issued refresh token, used once (rotation) and then replaced.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Thread',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.ForeignKeyField('venn.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.CASCADE)),
                ('root_message_id', fields.BigIntField(unique=True)),
                ('title', fields.CharField(default='', max_length=200)),
                ('created_by', fields.ForeignKeyField('venn.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='created_threads', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('reply_count', fields.IntField(default=0)),
                ('last_reply_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'threads', 'app': 'venn', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.ForeignKeyField('venn.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('venn.Thread', source_field='thread_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('venn.User', source_field='author_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('kind', fields.CharEnumField(default=MessageKind.USER, description='USER: user\nBOT: bot\nSYSTEM: system', enum_type=MessageKind, max_length=16)),
                ('payload', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('client_msg_id', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted', fields.BooleanField(default=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_thread_id', fields.BigIntField(null=True)),
                ('reply_count', fields.IntField(default=0)),
            ],
            options={'table': 'messages', 'app': 'venn', 'unique_together': (('author', 'client_msg_id'),), 'indexes': [Index(fields=['channel_id', 'thread_id', 'id'], name='ix_message_channel_thread_id'), Index(fields=['thread_id', 'id'], name='ix_message_thread_id')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
