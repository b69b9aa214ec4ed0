"""Cursor pagination: stable under inserts, no COUNT(*), and a bad cursor is a 404, not a 500."""

import datetime

from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class CreatedAtCursorPagination(CursorPagination):
    """Newest first. The primary key breaks ties between rows created at the same instant."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-pk")

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_ordering(self, request, queryset, view):
        """The ordering asked for (the view's OrderingFilter replaces ours), then the primary key in
        the same direction: rows with the same timestamp are then never skipped or repeated."""
        ordering = list(super().get_ordering(request, queryset, view))
        pk_name = queryset.model._meta.pk.name
        if not any(field.lstrip("-") in ("pk", pk_name) for field in ordering):
            ordering.append(("-" if ordering[0].startswith("-") else "") + pk_name)
        return tuple(ordering)

    def decode_cursor(self, request):
        """DRF checks the cursor's offset and direction; its position goes into the SQL as it is.
        Parse it as the ordering field's type first, so a tampered cursor is a 404, not a 500."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        name = self.ordering[0].lstrip("-")
        meta = self._model._meta
        field = meta.pk if name in ("pk", meta.pk.name) else meta.get_field(name)
        try:
            value = field.to_python(cursor.position)
            if isinstance(value, datetime.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=datetime.timezone.utc)
                value = value.astimezone(datetime.timezone.utc)
            elif isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise ValueError("out of range")
        except (ValidationError, ValueError, OverflowError, TypeError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        if value is None:
            raise NotFound(self.invalid_cursor_message)
        return cursor._replace(position=value.isoformat() if hasattr(value, "isoformat") else value)


class OldestFirstCursorPagination(CreatedAtCursorPagination):
    """Conversation order, for comment threads."""

    ordering = ("created_at", "pk")
