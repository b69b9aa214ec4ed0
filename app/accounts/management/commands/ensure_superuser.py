"""Create the first superuser once, with a password that passes AUTH_PASSWORD_VALIDATORS.

`createsuperuser --noinput` skips the password validators; provisioning runs this instead. The
values come from the environment (DJANGO_SUPERUSER_USERNAME, _EMAIL, _PASSWORD), which the
deploy passes through a root-only environment file, never on a command line. An existing user
of that name is left as it is (its password is not reset), so a re-run changes nothing.
"""

import os

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the superuser named in DJANGO_SUPERUSER_USERNAME unless it exists."

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not username or not password:
            raise CommandError("Set DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD.")
        user_model = get_user_model()
        if user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
            self.stdout.write(f"superuser {username} exists: unchanged")
            return
        candidate = user_model(**{user_model.USERNAME_FIELD: username, "email": email})
        try:
            password_validation.validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError(
                f"the superuser password for {username} is refused: " + " ".join(exc.messages)
            ) from None
        user_model._default_manager.create_superuser(username, email, password)
        self.stdout.write(f"superuser {username} created")
