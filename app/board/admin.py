"""Staff see every row, deleted ones included, and soft-delete or restore them through services."""

from django.contrib import admin, messages

from board import services
from board.models import Comment, Post, Tag


@admin.action(description="Soft-delete the selected rows")
def soft_delete_selected(modeladmin, request, queryset):
    changed = sum(services.soft_delete(obj) for obj in queryset)
    modeladmin.message_user(request, f"{changed} row(s) deleted.", messages.SUCCESS)


@admin.action(description="Restore the selected rows")
def restore_selected(modeladmin, request, queryset):
    changed = sum(services.restore(obj) for obj in queryset)
    modeladmin.message_user(request, f"{changed} row(s) restored.", messages.SUCCESS)


class SoftDeleteAdmin(admin.ModelAdmin):
    actions = [soft_delete_selected, restore_selected]
    list_filter = ["is_deleted"]
    # Deletion state changes only through the actions, which set both fields together.
    readonly_fields = ["is_deleted", "deleted_at"]

    def get_queryset(self, request):
        return self.model.all_objects.get_queryset()

    def has_delete_permission(self, request, obj=None):
        # Rows are never removed; deletion is the soft-delete action.
        return False


@admin.register(Post)
class PostAdmin(SoftDeleteAdmin):
    list_display = ["post_no", "title", "author", "created_at", "is_deleted"]
    list_select_related = ["author"]
    search_fields = ["title", "content"]
    autocomplete_fields = ["tags"]
    raw_id_fields = ["author"]


@admin.register(Comment)
class CommentAdmin(SoftDeleteAdmin):
    # The form runs Comment.full_clean(), so a parent on another post is a form error here too.
    list_display = ["comment_no", "post", "author", "created_at", "is_deleted"]
    list_select_related = ["post", "author"]
    raw_id_fields = ["post", "author", "parent"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
