import pytest
from django.urls import reverse

from board.models import Post
from tests.factories import CommentFactory, PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

POST_FIELDS = {
    "id",
    "title",
    "content",
    "author",
    "tags",
    "comment_count",
    "created_at",
    "updated_at",
}


def test_anonymous_can_list_posts_newest_first(api):
    older, newer = PostFactory(), PostFactory()
    response = api.get(reverse("post-list"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]
    assert set(body["results"][0]) == POST_FIELDS


def test_list_item_shape(api):
    post = PostFactory(tags=[TagFactory(name="b"), TagFactory(name="a")])
    CommentFactory.create_batch(2, post=post)
    CommentFactory(post=post).soft_delete()
    item = api.get(reverse("post-list")).json()["results"][0]
    assert item["author"] == {"id": post.author.pk, "username": post.author.username}
    assert item["tags"] == ["a", "b"]
    assert item["comment_count"] == 2


def test_list_items_read_exactly_like_the_detail(api):
    """The list builds its items from rows, the detail from a model: the same JSON either way."""
    gone = UserFactory()
    posts = [
        PostFactory(tags=[TagFactory(name="zeta"), TagFactory(name="alpha")]),
        PostFactory(author=gone, title="Grüße \u2028", content=""),
        PostFactory(),
    ]
    CommentFactory.create_batch(2, post=posts[0])
    gone.is_active = False
    gone.save()
    items = api.get(reverse("post-list")).json()["results"]
    assert len(items) == 3
    for item in items:
        assert item == api.get(reverse("post-detail", args=[item["id"]])).json()
    assert {item["id"]: item["author"] for item in items}[posts[1].pk] is None


def test_cursor_pagination_walks_every_post_once(api):
    posts = PostFactory.create_batch(25)
    seen, url = [], reverse("post-list") + "?page_size=10"
    while url:
        body = api.get(url).json()
        seen += [item["id"] for item in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(p.pk for p in posts)
    assert len(seen) == 25


def test_default_page_size_is_20_and_max_is_100(api):
    PostFactory.create_batch(105)
    assert len(api.get(reverse("post-list")).json()["results"]) == 20
    assert len(api.get(reverse("post-list"), {"page_size": 100}).json()["results"]) == 100
    # Over the maximum is a 400 (tests/core/test_pagination.py), not a silent 100.
    assert api.get(reverse("post-list"), {"page_size": 500}).status_code == 400


def test_filters_search_author_tag_and_ordering(api):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    django = TagFactory(name="django")
    first = PostFactory(author=alice, title="Django tips", tags=[django])
    second = PostFactory(author=bob, title="Cooking", content="About django too")
    PostFactory(author=bob, title="Other")

    def ids(**params):
        return [i["id"] for i in api.get(reverse("post-list"), params).json()["results"]]

    assert ids(search="django") == [second.pk, first.pk]
    assert ids(author="alice") == [first.pk]
    assert ids(tag="Django") == [first.pk]
    assert ids(ordering="created_at")[:2] == [first.pk, second.pk]
    assert ids(author="nobody") == []


def test_create_post_creates_unknown_tags(author_client, user):
    response = author_client.post(
        reverse("post-list"),
        {"title": "Hello", "content": "World", "tags": ["News", "news", "django"]},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["author"] == {"id": user.pk, "username": user.username}
    assert body["tags"] == ["django", "news"]
    assert body["comment_count"] == 0
    assert Post.objects.get(pk=body["id"]).tags.count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"content": "no title"}, "title"),
        ({"title": "x" * 101, "content": "c"}, "title"),
        ({"title": "t"}, "content"),
        ({"title": "t", "content": "c", "tags": ["x" * 31]}, "tags"),
        ({"title": "t", "content": "c", "tags": ["no spaces"]}, "tags"),
        ({"title": "t", "content": "c", "tags": "notalist"}, "tags"),
    ],
)
def test_create_post_validation(author_client, payload, field):
    response = author_client.post(reverse("post-list"), payload)
    assert response.status_code == 400
    assert field in response.json()


def test_create_post_needs_a_token(api):
    response = api.post(reverse("post-list"), {"title": "t", "content": "c"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 401), ("author", 200), ("other", 403), ("staff", 403)],
)
def test_edit_permission_matrix(method, who, expected, user, clients):
    post = PostFactory(author=user)
    payload = {"title": "Edited", "content": "New", "tags": ["x"]}
    response = getattr(clients[who], method)(reverse("post-detail", args=[post.pk]), payload)
    assert response.status_code == expected
    post.refresh_from_db()
    assert (post.title == "Edited") is (expected == 200)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 401), ("author", 204), ("other", 403), ("staff", 204)],
)
def test_delete_permission_matrix(who, expected, user, clients):
    post = PostFactory(author=user)
    response = clients[who].delete(reverse("post-detail", args=[post.pk]))
    assert response.status_code == expected
    post.refresh_from_db()  # never removed
    assert post.is_deleted is (expected == 204)
    assert (post.deleted_at is not None) is (expected == 204)


def test_put_replaces_tags_and_patch_keeps_them(user, author_client):
    post = PostFactory(author=user, tags=[TagFactory(name="old")])
    url = reverse("post-detail", args=[post.pk])
    assert author_client.patch(url, {"title": "T2"}).json()["tags"] == ["old"]
    body = author_client.put(url, {"title": "T3", "content": "C", "tags": ["new"]}).json()
    assert body["tags"] == ["new"]
    assert body["title"] == "T3"


def test_deleted_post_is_gone_from_the_api_but_not_the_database(user, author_client, api):
    post = PostFactory(author=user)
    CommentFactory(post=post)
    url = reverse("post-detail", args=[post.pk])

    assert author_client.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.get(url).json() == {"detail": "No Post matches the given query."}
    assert author_client.delete(url).status_code == 404
    assert api.get(reverse("post-list")).json()["results"] == []
    assert api.get(reverse("post-comments", args=[post.pk])).status_code == 404

    stored = Post.all_objects.get(pk=post.pk)
    assert stored.is_deleted and stored.deleted_at is not None


def test_unknown_post_is_404(api):
    assert api.get(reverse("post-detail", args=[999999])).status_code == 404


def test_changing_only_the_tags_moves_updated_at(user, author_client):
    post = PostFactory(author=user, tags=[TagFactory(name="old")])
    before = author_client.get(reverse("post-detail", args=[post.pk])).json()["updated_at"]
    response = author_client.patch(reverse("post-detail", args=[post.pk]), {"tags": ["new"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["new"]
    assert response.json()["updated_at"] > before
    # The same tags again change nothing, so the time stays.
    same = author_client.patch(reverse("post-detail", args=[post.pk]), {"tags": ["new"]})
    assert same.json()["updated_at"] == response.json()["updated_at"]
