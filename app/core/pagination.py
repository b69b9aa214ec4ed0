"""Cursor pagination: stable under inserts, and no COUNT(*) on large tables."""

from rest_framework.pagination import CursorPagination


class CreatedAtCursorPagination(CursorPagination):
    """Newest first. The primary key breaks ties between rows created at the same instant."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-pk")


class OldestFirstCursorPagination(CreatedAtCursorPagination):
    """Conversation order, for comment threads."""

    ordering = ("created_at", "pk")
