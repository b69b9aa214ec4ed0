"""Input and output shapes of posts and comments. Deleted or deactivated references read as null.

Inputs are validated here and written by board.services; outputs only read, so the OpenAPI
schema documents each direction as it is.
"""

import re

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuthorSerializer, live_author
from board.models import (
    COMMENT_CONTENT_MAX_LENGTH,
    POST_CONTENT_MAX_LENGTH,
    POST_TITLE_MAX_LENGTH,
    TAG_NAME_MAX_LENGTH,
    TAGS_PER_POST_MAX,
    Comment,
)
from core.fields import IdRelatedField, StrictCharField

TAG_NAME = re.compile(r"^[\w-]+$")


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": TAG_NAME_MAX_LENGTH,
        "pattern": TAG_NAME.pattern,
    }
)
class TagNameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=TAG_NAME_MAX_LENGTH, **kwargs)

    def to_internal_value(self, data):
        name = super().to_internal_value(data).strip().lower()
        if not TAG_NAME.match(name):
            raise serializers.ValidationError("Tags may contain only letters, digits, '_' and '-'.")
        return name


# Output serializers declare their fields for the OpenAPI schema and write the JSON object
# directly: DRF's per-field machinery (get_attribute, to_representation, an OrderedDict per
# object) was the largest share of a page's time. Values are the fields' own representations.
# The app never activates another time zone, so the current one is always settings.TIME_ZONE.
_TIME_ZONE = timezone.get_default_timezone()


def _time(value):
    """DRF's DateTimeField output (ISO 8601, "+00:00" as "Z") for the aware datetimes the
    database gives, without the field's per-value settings and time-zone look-ups (two per
    row of every page)."""
    text = value.astimezone(_TIME_ZONE).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class PostInputSerializer(serializers.Serializer):
    title = StrictCharField(max_length=POST_TITLE_MAX_LENGTH)
    content = StrictCharField(max_length=POST_CONTENT_MAX_LENGTH)
    tags = serializers.ListField(child=TagNameField(), required=False, max_length=TAGS_PER_POST_MAX)


class PostOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    title = serializers.CharField(read_only=True)
    content = serializers.CharField(read_only=True)
    author = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    comment_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, post):
        return live_author(post.author)

    def to_representation(self, post):
        """A post, or a row of selectors.post_rows. Tags from selectors.with_tag_names (one query
        per page), else from the post."""
        if isinstance(post, dict):
            return self._row_representation(post)
        tags = getattr(post, "tag_names", None)
        if tags is None:
            tags = sorted(tag.name for tag in post.tags.all())
        return {
            "id": post.pk,
            "title": post.title,
            "content": post.content,
            "author": live_author(post.author),
            "tags": tags,
            "comment_count": post.comment_count,
            "created_at": _time(post.created_at),
            "updated_at": _time(post.updated_at),
        }

    @staticmethod
    def _row_representation(row):
        return {
            "id": row["post_no"],
            "title": row["title"],
            "content": row["content"],
            # accounts.serializers.live_author, from the joined columns
            "author": (
                {"id": row["author_id"], "username": row["author__username"]}
                if row["author__is_active"]
                else None
            ),
            "tags": row["tag_names"],
            "comment_count": row["comment_count"],
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
        }


class CommentInputSerializer(serializers.Serializer):
    content = StrictCharField(max_length=COMMENT_CONTENT_MAX_LENGTH)
    parent = IdRelatedField(queryset=Comment.objects.all(), required=False, allow_null=True)


class CommentUpdateSerializer(serializers.Serializer):
    content = StrictCharField(required=False, max_length=COMMENT_CONTENT_MAX_LENGTH)
    # Accepted only unchanged, as it reads (null once the parent is deleted): the parent is
    # fixed when the comment is created. A deleted parent's id is unknown here, as a missing one.
    parent = IdRelatedField(queryset=Comment.objects.all(), required=False, allow_null=True)


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    post = serializers.IntegerField(source="post_id", read_only=True)
    parent = serializers.SerializerMethodField()
    author = serializers.SerializerMethodField()
    content = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_parent(self, comment):
        # A reply whose parent was deleted keeps the reference in the database but reads as null.
        parent = comment.parent
        return parent.pk if parent is not None and not parent.is_deleted else None

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, comment):
        return live_author(comment.author)

    def to_representation(self, comment):
        """A comment, or a row of selectors.comment_rows."""
        if isinstance(comment, dict):
            return self._row_representation(comment)
        return {
            "id": comment.pk,
            "post": comment.post_id,
            "parent": self.get_parent(comment),
            "author": live_author(comment.author),
            "content": comment.content,
            "created_at": _time(comment.created_at),
            "updated_at": _time(comment.updated_at),
        }

    @staticmethod
    def _row_representation(row):
        parent = row["parent_id"]
        return {
            "id": row["comment_no"],
            "post": row["post_id"],
            # get_parent, from the joined column
            "parent": parent if parent is not None and not row["parent__is_deleted"] else None,
            # accounts.serializers.live_author, from the joined columns
            "author": (
                {"id": row["author_id"], "username": row["author__username"]}
                if row["author__is_active"]
                else None
            ),
            "content": row["content"],
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
        }
