"""Thin views: input serializers validate, board.services write, selectors read, outputs render."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from board import selectors, services
from board.filters import PostFilter
from board.permissions import IsAuthorOrStaffDeletes
from board.search import PostSearchFilter
from board.serializers import (
    CommentInputSerializer,
    CommentOutputSerializer,
    CommentUpdateSerializer,
    PostInputSerializer,
    PostOutputSerializer,
)
from core.filters import StrictOrderingFilter
from core.pagination import OldestFirstCursorPagination


def _gone():
    # The row was deleted by a concurrent request after this one looked it up.
    return NotFound()


class PostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_converter = "int"
    serializer_class = PostOutputSerializer
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrStaffDeletes]
    filter_backends = [DjangoFilterBackend, PostSearchFilter, StrictOrderingFilter]
    filterset_class = PostFilter
    # PostgreSQL searches its full-text index (board/search.py); these are SQLite's fallback.
    search_fields = ["title", "content"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.post_list()

    def list(self, request):
        queryset = selectors.post_rows(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        data = PostOutputSerializer(selectors.with_tag_names(page), many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request, pk=None):
        [post] = selectors.with_tag_names([self.get_object()])
        return Response(PostOutputSerializer(post).data)

    def _read(self, pk, status_code=status.HTTP_200_OK):
        """Answer with the same shape as a read (author, tags, comment_count)."""
        post = self.get_queryset().filter(pk=pk).first()
        if post is None:
            raise _gone()
        [post] = selectors.with_tag_names([post])
        return Response(PostOutputSerializer(post).data, status=status_code)

    @extend_schema(request=PostInputSerializer, responses={201: PostOutputSerializer})
    def create(self, request):
        serializer = PostInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, **serializer.validated_data)
        return self._read(post.pk, status.HTTP_201_CREATED)

    @extend_schema(request=PostInputSerializer, responses=PostOutputSerializer)
    def update(self, request, pk=None, partial=False):
        post = self.get_object()
        serializer = PostInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if not services.post_update(post=post, **serializer.validated_data):
            raise _gone()
        return self._read(post.pk)

    @extend_schema(request=PostInputSerializer, responses=PostOutputSerializer)
    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        if not services.post_soft_delete(post=self.get_object()):
            raise _gone()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostCommentListView(generics.ListAPIView):
    """Comments of one live post, oldest first."""

    serializer_class = CommentOutputSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = OldestFirstCursorPagination
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["created_at"]

    def get_post(self):
        if not hasattr(self, "_post"):
            # Only whether it is live matters here (and its key, for a new comment).
            self._post = selectors.live_post(self.kwargs["post_pk"])
        return self._post

    def get_queryset(self):
        return selectors.comment_list().filter(post=self.get_post())

    def list(self, request, *args, **kwargs):
        rows = selectors.comment_rows(self.get_post().pk)
        page = self.paginate_queryset(self.filter_queryset(rows))
        return self.get_paginated_response(CommentOutputSerializer(page, many=True).data)

    @extend_schema(request=CommentInputSerializer, responses={201: CommentOutputSerializer})
    def post(self, request, post_pk):
        post = self.get_post()
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(
            post=post, author=request.user, **serializer.validated_data
        )
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_converter = "int"
    serializer_class = CommentOutputSerializer
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrStaffDeletes]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.comment_list()

    @extend_schema(request=CommentUpdateSerializer, responses=CommentOutputSerializer)
    def partial_update(self, request, pk=None):
        comment = self.get_object()
        serializer = CommentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if not services.comment_update(comment=comment, **serializer.validated_data):
            raise _gone()
        return Response(CommentOutputSerializer(comment).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        if not services.comment_soft_delete(comment=self.get_object()):
            raise _gone()
        return Response(status=status.HTTP_204_NO_CONTENT)
