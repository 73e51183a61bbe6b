"""Members' public handles were made from their email address (the part before the @):
every member who is not staff gets a neutral handle instead. Members sign in by email, so
nothing changes for them; staff keep theirs (the admin signs in by username)."""

import secrets

from django.db import migrations

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def neutral_handles(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    taken = set(User.objects.values_list("username", flat=True))
    members = User.objects.filter(is_staff=False, is_superuser=False).exclude(
        username__startswith="member-"
    )
    for pk in members.values_list("pk", flat=True):
        handle = None
        while handle is None or handle in taken:
            handle = "member-" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        taken.add(handle)
        User.objects.filter(pk=pk).update(username=handle)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_display_name")]

    operations = [migrations.RunPython(neutral_handles, migrations.RunPython.noop)]
