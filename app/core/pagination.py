"""Keyset (cursor) pagination: stable under inserts, no COUNT(*), and never a 500 on a bad cursor.

DRF's CursorPagination keys pages on the first ordering field alone and steps over ties with an
offset, which loses or repeats rows when many share a timestamp (bulk imports, fixtures) and
walks back wrongly. Here the position is the pair (ordering field, primary key), compared as a
pair, so every row has a unique position and each appears exactly once, in both directions.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as InvalidQuery
from rest_framework.pagination import CursorPagination, _reverse_ordering

SEPARATOR = "|"


class CreatedAtCursorPagination(CursorPagination):
    """Newest first. The primary key breaks ties between rows created at the same instant."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-pk")

    def get_page_size(self, request):
        """`?page_size=` is an integer from 1 to max_page_size, or a 400 (DRF's silently falls
        back to the default or clamps, which the schema could not say)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise InvalidQuery(
                {self.page_size_query_param: [f"An integer from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters

    def get_ordering(self, request, queryset, view):
        """The field asked for (the view's OrderingFilter may replace ours), then the primary key
        in the same direction."""
        first = super().get_ordering(request, queryset, view)[0]
        sign = "-" if first.startswith("-") else ""
        return (first, sign + queryset.model._meta.pk.name)

    def _field(self):
        return self._model._meta.get_field(self.ordering[0].lstrip("-"))

    def _get_position_from_instance(self, instance, ordering):
        name = ordering[0].lstrip("-")
        if isinstance(instance, dict):  # a page of .values() rows
            value, pk = instance[name], instance[self._model._meta.pk.name]
        else:
            value, pk = getattr(instance, name), instance.pk
        if isinstance(value, datetime.datetime):
            value = value.isoformat()
        return f"{value}{SEPARATOR}{pk}"

    def decode_cursor(self, request):
        """DRF checks the offset and direction; the position is checked here: a tampered cursor
        is a 404 (invalid cursor), never a 500 from the database."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        raw_value, _, raw_pk = cursor.position.rpartition(SEPARATOR)
        try:
            value = self._field().to_python(raw_value)
            if isinstance(value, datetime.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=datetime.UTC)
                value = value.astimezone(datetime.UTC)
            pk = self._model._meta.pk.to_python(raw_pk)
            if value is None or not isinstance(pk, int) or not 0 < pk < 2**63:
                raise ValueError("not a position")
        except (ValidationError, ValueError, OverflowError, TypeError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        return cursor._replace(position=(value, pk))

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's algorithm, with the position compared as a (value, pk) pair.
        self._model = queryset.model
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset, reverse, position = self.cursor if self.cursor else (0, False, None)

        ordering = self._sort_ordering(queryset)
        queryset = queryset.order_by(*(_reverse_ordering(ordering) if reverse else ordering))

        if position is not None:
            value, pk = position
            name = self.ordering[0].lstrip("-")
            # (cursor reversed) XOR (ordering descending): rows before the position.
            op = "lt" if reverse != self.ordering[0].startswith("-") else "gt"
            # The bound on the field alone (`<=` / `>=`) is implied by the pair below; it is
            # what lets the ordering's index start at the position. Without it the OR is only a
            # filter and a page deep in the table walks the index from its start.
            queryset = queryset.filter(
                Q(**{f"{name}__{op}e": value})
                & (Q(**{f"{name}__{op}": value}) | Q(**{name: value, f"pk__{op}": pk}))
            )

        results = list(queryset[offset : offset + self.page_size + 1])
        self.page = results[: self.page_size]
        has_following = len(results) > len(self.page)
        following = (
            self._get_position_from_instance(results[-1], self.ordering) if has_following else None
        )
        current = self._position_text(position)
        if reverse:
            self.page.reverse()
            self.has_next = position is not None or offset > 0
            self.has_previous = has_following
            self.next_position = current if self.has_next else None
            self.previous_position = following
        else:
            self.has_next = has_following
            self.has_previous = position is not None or offset > 0
            self.next_position = following
            self.previous_position = current if self.has_previous else None
        return self.page

    def _sort_ordering(self, queryset):
        """The ordering, with the field replaced by the queryset's alias `sort_<field>` if it has
        one: the same values, in an expression no index can serve. Full-text search sets it, so
        the planner cannot walk the ordering's btree index and test every row against a rare
        word (board/search.py); the keyset filter still compares the field itself."""
        first, second = self.ordering
        name = first.lstrip("-")
        if f"sort_{name}" in queryset.query.annotations:
            first = first.replace(name, f"sort_{name}")
        return (first, second)

    @staticmethod
    def _position_text(position):
        if position is None:
            return None
        value, pk = position
        value = value.isoformat() if isinstance(value, datetime.datetime) else value
        return f"{value}{SEPARATOR}{pk}"


class OldestFirstCursorPagination(CreatedAtCursorPagination):
    """Conversation order, for comment threads."""

    ordering = ("created_at", "pk")
