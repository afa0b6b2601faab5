from tortoise import migrations
from tortoise.migrations import operations as ops


async def _install(apps, schema_editor) -> None:
    from venn.db.search_index import install_search_index

    await install_search_index(schema_editor.client)


class Migration(migrations.Migration):
    """Full-text search of message bodies (``venn/db/search_index.py``), existing messages included."""

    dependencies = [("venn", "0006_mentions")]

    operations = [ops.RunPython(_install)]
