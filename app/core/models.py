"""Soft delete: rows are marked deleted, never removed."""

from django.db import models
from django.utils import timezone


class SoftDeleteQuerySet(models.QuerySet):
    def live(self):
        return self.filter(is_deleted=False)

    def deleted(self):
        return self.filter(is_deleted=True)


class LiveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """The default manager for API code: hides deleted rows."""

    def get_queryset(self):
        return super().get_queryset().filter(is_deleted=False)


class SoftDeleteModel(models.Model):
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Declared first, so it is the model's `_default_manager`: the admin, related lookups and
    # third-party code see every row. API code uses `objects`, which hides deleted rows.
    all_objects = models.Manager.from_queryset(SoftDeleteQuerySet)()
    objects = LiveManager()

    class Meta:
        abstract = True

    # Conditional UPDATEs: only a live row is deleted, only a deleted row restored. Of two racing
    # deletes, the second changes nothing (and the API answers 404), and no other column is
    # written, so a concurrent edit cannot resurrect the row. Both flags always change together
    # (the check constraint `*_deleted_at_consistent` holds them to it).
    def soft_delete(self) -> bool:
        """Marks the row deleted. False when it was not live (already deleted, or gone)."""
        now = timezone.now()
        changed = (
            type(self)
            .all_objects.filter(pk=self.pk, is_deleted=False)
            .update(is_deleted=True, deleted_at=now)
        )
        if changed:
            self.is_deleted, self.deleted_at = True, now
        return bool(changed)

    def restore(self) -> bool:
        """Makes the row live again. False when it was not deleted."""
        changed = (
            type(self)
            .all_objects.filter(pk=self.pk, is_deleted=True)
            .update(is_deleted=False, deleted_at=None)
        )
        if changed:
            self.is_deleted, self.deleted_at = False, None
        return bool(changed)


def deleted_at_consistent(name: str) -> models.CheckConstraint:
    """A deleted row has its deletion time, a live row has none."""
    return models.CheckConstraint(
        condition=models.Q(is_deleted=False, deleted_at__isnull=True)
        | models.Q(is_deleted=True, deleted_at__isnull=False),
        name=name,
    )
