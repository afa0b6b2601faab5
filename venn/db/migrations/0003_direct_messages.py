from tortoise import migrations


class Migration(migrations.Migration):
    """Direct messages (placeholder, filled by the DM work)."""

    dependencies = [("venn", "0002_reply_to")]

    operations: list = []
