"""Every save of a user writes its username key (accounts.models.UsernameKey)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import UsernameKey
from accounts.services import username_key


@receiver(post_save, sender=get_user_model(), dispatch_uid="accounts.username_key")
def write_username_key(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and "username" not in update_fields:
        return  # e.g. last_login or password: the name did not change
    # One upsert; a key taken by another user raises IntegrityError inside the caller's save.
    UsernameKey.objects.bulk_create(
        [UsernameKey(user_id=instance.pk, key=username_key(instance.username))],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["key"],
    )
