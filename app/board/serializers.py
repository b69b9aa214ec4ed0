"""Input and output shapes of posts and comments. Deleted or deactivated references read as null.

Inputs are validated here and written by board.services; outputs only read, so the OpenAPI
schema documents each direction as it is.
"""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuthorSerializer, live_author
from board.models import Comment

TAG_NAME = re.compile(r"^[\w-]+$")


class TagNameField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=30, **kwargs)

    def to_internal_value(self, data):
        name = super().to_internal_value(data).strip().lower()
        if not TAG_NAME.match(name):
            raise serializers.ValidationError("Tags may contain only letters, digits, '_' and '-'.")
        return name


class TagListField(serializers.ListField):
    """Read from the prefetched tags, so no query per post."""

    child = serializers.CharField()

    def to_representation(self, tags):
        return sorted(tag.name for tag in tags.all())


class PostInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    content = serializers.CharField()
    tags = serializers.ListField(child=TagNameField(), required=False, max_length=10)


class PostOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    title = serializers.CharField(read_only=True)
    content = serializers.CharField(read_only=True)
    author = serializers.SerializerMethodField()
    tags = TagListField(read_only=True)
    comment_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, post):
        return live_author(post.author)


class CommentInputSerializer(serializers.Serializer):
    content = serializers.CharField()
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Comment.objects.all(), required=False, allow_null=True
    )


class CommentUpdateSerializer(serializers.Serializer):
    content = serializers.CharField(required=False)
    # Accepted only unchanged: the parent is fixed when the comment is created.
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Comment.all_objects.all(), required=False, allow_null=True
    )


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
