from tortoise import migrations


class Migration(migrations.Migration):
    """Mentions (placeholder)."""

    dependencies = [("venn", "0005_files")]

    operations: list = []
