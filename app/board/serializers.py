"""Representations of posts and comments. Deleted or deactivated references read as null."""

import re

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuthorSerializer, live_author
from board.models import Comment, Post, Tag

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
    """Written as a list of names; read from the prefetched tags, so no query per post."""

    child = TagNameField()

    def to_representation(self, tags):
        return sorted(tag.name for tag in tags.all())


class PostSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    author = serializers.SerializerMethodField()
    tags = TagListField(required=False, max_length=10)
    comment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "title",
            "content",
            "author",
            "tags",
            "comment_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, post):
        return live_author(post.author)

    @transaction.atomic
    def create(self, validated_data):
        names = validated_data.pop("tags", [])
        post = Post.objects.create(**validated_data)
        post.tags.set(_tags_named(names))
        return post

    @transaction.atomic
    def update(self, post, validated_data):
        names = validated_data.pop("tags", None)
        post = super().update(post, validated_data)
        if names is not None:
            post.tags.set(_tags_named(names))
        return post


def _tags_named(names):
    """Existing tags by name; unknown names are created (races resolved by the unique index)."""
    names = sorted(set(names))
    if not names:
        return []
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=names))


class CommentSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    post = serializers.IntegerField(source="post_id", read_only=True)
    author = serializers.SerializerMethodField()
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Comment.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Comment
        fields = ["id", "post", "parent", "author", "content", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, comment):
        return live_author(comment.author)

    @staticmethod
    def _parent_id(comment):
        parent = comment.parent
        return parent.pk if parent is not None and not parent.is_deleted else None

    def to_representation(self, comment):
        data = super().to_representation(comment)
        # A reply whose parent was deleted keeps the reference in the database but reads as null.
        data["parent"] = self._parent_id(comment)
        return data

    def validate_parent(self, parent):
        if self.instance is not None and parent != self.instance.parent:
            raise serializers.ValidationError("The parent of a comment cannot be changed.")
        post = self.context.get("post")
        if parent is not None and post is not None and parent.post_id != post.pk:
            raise serializers.ValidationError("The parent comment belongs to another post.")
        return parent
