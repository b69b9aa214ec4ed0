"""Who may change what: authors edit their own content; authors or staff delete it."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsAuthorOrStaffDeletes(BasePermission):
    message = "Only the author may change this; only the author or staff may delete it."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        is_author = obj.author_id == request.user.pk
        if request.method == "DELETE":
            return is_author or request.user.is_staff
        return is_author
