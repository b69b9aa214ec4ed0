"""Staff see every row, deleted ones included, and can soft-delete or restore them."""

from django.contrib import admin

from board.models import Comment, Post, Tag


@admin.action(description="Soft-delete the selected rows")
def soft_delete_selected(modeladmin, request, queryset):
    for obj in queryset:
        obj.soft_delete()


@admin.action(description="Restore the selected rows")
def restore_selected(modeladmin, request, queryset):
    for obj in queryset:
        obj.restore()


class SoftDeleteAdmin(admin.ModelAdmin):
    actions = [soft_delete_selected, restore_selected]
    list_filter = ["is_deleted"]
    readonly_fields = ["deleted_at"]

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
    list_display = ["comment_no", "post", "author", "created_at", "is_deleted"]
    list_select_related = ["post", "author"]
    raw_id_fields = ["post", "author", "parent"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
