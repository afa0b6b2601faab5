from tortoise import migrations


class Migration(migrations.Migration):
    """Files (placeholder)."""

    dependencies = [("venn", "0004_reactions_pins")]

    operations: list = []
