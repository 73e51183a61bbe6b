"""The one-click unsubscribe link gets a key of its own: a new random one for each
subscription (added empty, filled row by row, then made unique)."""

from django.db import migrations, models

import digests.models


def fill(apps, schema_editor):
    Subscription = apps.get_model("digests", "Subscription")
    for subscription in Subscription.objects.filter(unsubscribe_token=None).only("pk"):
        Subscription.objects.filter(pk=subscription.pk).update(
            unsubscribe_token=digests.models.new_token()
        )


class Migration(migrations.Migration):
    dependencies = [("digests", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="unsubscribe_token",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="subscription",
            name="unsubscribe_token",
            field=models.CharField(
                default=digests.models.new_token, editable=False, max_length=64, unique=True
            ),
        ),
    ]
