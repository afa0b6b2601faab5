from tortoise import migrations


class Migration(migrations.Migration):
    """Search index (placeholder)."""

    dependencies = [("venn", "0006_mentions")]

    operations: list = []
