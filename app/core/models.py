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

    def soft_delete(self) -> None:
        self.is_deleted = True
        self.deleted_at = timezone.now()
        self.save(update_fields=["is_deleted", "deleted_at"])

    def restore(self) -> None:
        self.is_deleted = False
        self.deleted_at = None
        self.save(update_fields=["is_deleted", "deleted_at"])
