"""The key that makes usernames unique case-insensitively on every database."""

from django.conf import settings
from django.db import models


class UsernameKey(models.Model):
    """A user's name folded for comparison (services.username_key), unique.

    auth_user's unique index on lower(username) (migration 0001) folds ASCII only on SQLite, and
    only what the collation knows on PostgreSQL: "Émile" and "émile" would both register. The
    key is folded by Python (NFKC case folding), so every database compares the same way. A
    signal (accounts.signals) writes it on every save of a user: registration, the admin,
    createsuperuser, seed_demo.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # Case folding can lengthen a name ("ß" is "ss"), so the key may be longer than the name.
    key = models.CharField(max_length=600, unique=True)

    class Meta:
        db_table = "accounts_username_key"

    def __str__(self) -> str:
        return self.key
