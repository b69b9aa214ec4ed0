"""A reference by id is an integer within the column's range, or a 400: never rounded, never
a 500."""

import pytest
from django.urls import reverse

from board.models import Comment
from tests.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw_parent",
    # {pk}: an existing comment, which a rounded or coerced value would name.
    ["{pk}.5", "{pk}.0", "true", "1e400", "-1", "0", str(2**63), str(2**70), '"{pk}.5"', "[{pk}]"],
)
def test_a_parent_that_is_not_an_id_in_range_is_a_400(author_client, raw_parent):
    post = PostFactory()
    first = CommentFactory(post=post)
    CommentFactory(post=post, pk=first.pk + 1)
    raw_parent = raw_parent.replace("{pk}", str(first.pk))
    response = author_client.post(
        reverse("post-comments", args=[post.pk]),
        data=f'{{"content": "reply", "parent": {raw_parent}}}',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "parent" in response.json()
    assert Comment.all_objects.count() == 2


@pytest.mark.parametrize("as_text", [True, False])
def test_a_parent_id_is_an_integer_or_a_string_of_digits(author_client, as_text):
    post = PostFactory()
    pk = CommentFactory(post=post).pk
    response = author_client.post(
        reverse("post-comments", args=[post.pk]),
        {"content": "reply", "parent": str(pk) if as_text else pk},
    )
    assert response.status_code == 201
    assert response.json()["parent"] == pk


@pytest.mark.parametrize("pk", [2**31, 2**63, 2**70])
def test_a_path_id_out_of_range_is_a_404(api, pk):
    assert api.get(f"/api/v1/posts/{pk}/").status_code == 404
    assert api.get(f"/api/v1/comments/{pk}/").status_code == 404
    assert api.get(f"/api/v1/posts/{pk}/comments/").status_code == 404
