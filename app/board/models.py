"""Posts, comments and tags of the board. Table shapes follow the original tutorial schema."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import LiveManager, SoftDeleteModel


class Tag(models.Model):
    name = models.CharField(max_length=30, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = self.name.strip().lower()
        super().save(*args, **kwargs)


class Post(SoftDeleteModel):
    post_no = models.AutoField(primary_key=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="author",
        related_name="posts",
    )
    title = models.CharField(max_length=100)
    content = models.TextField()
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "post"
        default_manager_name = "all_objects"
        ordering = ["-created_at", "-post_no"]
        indexes = [
            # Serves the cursor pagination's ordering over live rows only.
            models.Index(
                fields=["created_at", "post_no"],
                condition=Q(is_deleted=False),
                name="post_live_created_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class LiveCommentManager(LiveManager):
    """Comments of a deleted post disappear with it (and come back if the post is restored)."""

    def get_queryset(self):
        return super().get_queryset().filter(post__is_deleted=False)


class Comment(SoftDeleteModel):
    comment_no = models.BigAutoField(primary_key=True)
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replies"
    )
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LiveCommentManager()

    class Meta:
        db_table = "comment"
        # `objects` is redeclared here, so name the default explicitly.
        default_manager_name = "all_objects"
        ordering = ["created_at", "comment_no"]
        indexes = [
            models.Index(
                fields=["post", "created_at", "comment_no"],
                condition=Q(is_deleted=False),
                name="comment_live_post_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on post {self.post_id}"
