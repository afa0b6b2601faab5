from tortoise import migrations


class Migration(migrations.Migration):
    """Reactions and pins (placeholder)."""

    dependencies = [("venn", "0003_direct_messages")]

    operations: list = []
