"""Posts, comments and tags of the board. Table shapes follow the original tutorial schema."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Lower
from django.db.models.lookups import LessThanOrEqual

from core.models import LiveManager, SoftDeleteModel, deleted_at_consistent

# Hard limits, in characters (one home: the serializers, the schema and the database constraints
# read these). A page of 100 posts is then at most a few megabytes, whatever is posted.
TAG_NAME_MAX_LENGTH = 30
TAGS_PER_POST_MAX = 10
POST_TITLE_MAX_LENGTH = 100
POST_CONTENT_MAX_LENGTH = 10_000
COMMENT_CONTENT_MAX_LENGTH = 2_000


def content_length_check(max_length: int, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length("content"), max_length), name=name
    )


class Tag(models.Model):
    name = models.CharField(max_length=TAG_NAME_MAX_LENGTH, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # save() lowercases; this holds bulk writes and raw SQL to the same rule.
            models.CheckConstraint(condition=Q(name=Lower("name")), name="tag_name_lowercase"),
        ]

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
    title = models.CharField(max_length=POST_TITLE_MAX_LENGTH)
    content = models.TextField(validators=[MaxLengthValidator(POST_CONTENT_MAX_LENGTH)])
    # At most TAGS_PER_POST_MAX: services and serializers check it, a trigger holds the
    # database to it (migration 0005).
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
        constraints = [
            deleted_at_consistent("post_deleted_at_consistent"),
            content_length_check(POST_CONTENT_MAX_LENGTH, "post_content_length"),
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
    content = models.TextField(validators=[MaxLengthValidator(COMMENT_CONTENT_MAX_LENGTH)])
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
        constraints = [
            deleted_at_consistent("comment_deleted_at_consistent"),
            content_length_check(COMMENT_CONTENT_MAX_LENGTH, "comment_content_length"),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on post {self.post_id}"

    def clean(self):
        super().clean()
        # A reply belongs to the thread of its parent (the API, the admin and services all run
        # full_clean, so none of them can file a reply under another post).
        if self.parent_id is not None and self.post_id is not None:
            parent_post_id = (
                Comment.all_objects.filter(pk=self.parent_id)
                .values_list("post_id", flat=True)
                .first()
            )
            if parent_post_id != self.post_id:
                raise ValidationError({"parent": "The parent comment belongs to another post."})
