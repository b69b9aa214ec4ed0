"""Thin views over the selectors and serializers."""

from django.shortcuts import get_object_or_404
from rest_framework import filters, generics, viewsets
from rest_framework.permissions import IsAuthenticatedOrReadOnly

from board import selectors
from board.filters import PostFilter
from board.models import Post
from board.permissions import IsAuthorOrStaffDeletes
from board.serializers import CommentSerializer, PostSerializer
from core.pagination import OldestFirstCursorPagination


class PostViewSet(viewsets.ModelViewSet):
    lookup_value_converter = "int"
    serializer_class = PostSerializer
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrStaffDeletes]
    filterset_class = PostFilter
    search_fields = ["title", "content"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.post_list()

    def perform_create(self, serializer):
        post = serializer.save(author=self.request.user)
        # Answer with the same shape as a read (author, tags, comment_count).
        serializer.instance = self.get_queryset().get(pk=post.pk)

    def perform_update(self, serializer):
        post = serializer.save()
        serializer.instance = self.get_queryset().get(pk=post.pk)

    def perform_destroy(self, post):
        post.soft_delete()


class PostCommentListView(generics.ListCreateAPIView):
    """Comments of one live post, oldest first."""

    serializer_class = CommentSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = OldestFirstCursorPagination
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["created_at"]

    def get_post(self):
        if not hasattr(self, "_post"):
            self._post = get_object_or_404(Post.objects.all(), pk=self.kwargs["post_pk"])
        return self._post

    def get_queryset(self):
        return selectors.comment_list().filter(post=self.get_post())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "post_pk" in self.kwargs:  # absent while the schema is generated
            context["post"] = self.get_post()
        return context

    def perform_create(self, serializer):
        serializer.save(author=self.request.user, post=self.get_post())


class CommentViewSet(
    viewsets.mixins.RetrieveModelMixin,
    viewsets.mixins.UpdateModelMixin,
    viewsets.mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_converter = "int"
    serializer_class = CommentSerializer
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrStaffDeletes]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.comment_list()

    def perform_destroy(self, comment):
        comment.soft_delete()
