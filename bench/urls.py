"""The API's routes, and next to them the hand-written baselines the bench compares them with."""

from django.urls import path

from bench import baseline
from config.urls import *  # noqa: F403  (handler400... come along)
from config.urls import urlpatterns as api_urlpatterns

urlpatterns = [
    path("bench/baseline/posts/", baseline.post_list, name="baseline-post-list"),
    path("bench/baseline/posts/<int:pk>/", baseline.post_detail, name="baseline-post-detail"),
    path(
        "bench/baseline/posts/<int:pk>/comments/",
        baseline.comment_list,
        name="baseline-post-comments",
    ),
    *api_urlpatterns,
]
