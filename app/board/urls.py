from django.urls import path
from rest_framework.routers import DefaultRouter

from board import views

router = DefaultRouter(trailing_slash=True, use_regex_path=False)
router.include_root_view = False
router.register("posts", views.PostViewSet, basename="post")
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = [
    path(
        "posts/<int:post_pk>/comments/",
        views.PostCommentListView.as_view(),
        name="post-comments",
    ),
    *router.urls,
]
