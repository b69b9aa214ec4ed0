from django.urls import path
from rest_framework.routers import SimpleRouter

from board import views

# SimpleRouter: no API root view and no format-suffix routes (`{id}{format}`), which would list
# every detail route twice in the schema.
router = SimpleRouter(trailing_slash=True, use_regex_path=False)
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
