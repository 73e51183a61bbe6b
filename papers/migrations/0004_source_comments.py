from django.db import migrations, models


class Migration(migrations.Migration):
    """Hugging Face's comment count moves to `source_comments`; `comment_count` now counts
    the comments of this site's own discussion (none yet)."""

    dependencies = [
        ("papers", "0003_search_vector_function"),
    ]

    operations = [
        migrations.RenameField(
            model_name="paper", old_name="comment_count", new_name="source_comments"
        ),
        migrations.AlterField(
            model_name="paper",
            name="source_comments",
            field=models.PositiveIntegerField(default=0, help_text="Comments on Hugging Face"),
        ),
        migrations.AddField(
            model_name="paper",
            name="comment_count",
            field=models.PositiveIntegerField(
                default=0, editable=False, help_text="Comments here: always the shown Comment rows"
            ),
        ),
    ]
