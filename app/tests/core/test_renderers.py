"""The orjson renderer writes exactly the bytes DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from core.renderers import ORJSONRenderer

SAMPLES = [
    {"next": None, "previous": None, "results": []},
    {"id": 1, "title": "Grüße, 日本語, emoji 🎉", "tags": ["a", "b"], "author": None},
    {"content": "line\u2028separator\u2029paragraph", "quote": '"\\/</script>'},
    {"when": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)},
    {
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 1, 2),
    },
    {"big": 2**70, "negative": -(2**63), "float": 1.5},
    {"id": uuid.UUID(int=7), "price": decimal.Decimal("1.10"), "lazy": gettext_lazy("Not found.")},
    {"detail": {"search": ["Ensure this field has no more than 200 characters."]}},
    [1, "two", {"three": [3.0]}],
    None,
]


@pytest.mark.parametrize("data", SAMPLES)
def test_same_bytes_as_drf(data):
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)


@pytest.mark.parametrize("data", SAMPLES[:3])
def test_an_indent_asked_for_is_drfs_output(data):
    media_type = "application/json; indent=2"
    assert ORJSONRenderer().render(data, media_type) == JSONRenderer().render(data, media_type)


def test_the_api_answers_through_it(api, db):
    from django.urls import reverse

    response = api.get(reverse("post-list"))
    assert isinstance(response.accepted_renderer, ORJSONRenderer)
    assert response.content == b'{"next":null,"previous":null,"results":[]}'
