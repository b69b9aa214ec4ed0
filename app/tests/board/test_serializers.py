"""The output serializers' hand-rolled pieces answer what DRF's own fields answer."""

import datetime
import zoneinfo

import pytest
from rest_framework import serializers

from board.serializers import _time

DRF_DATETIME = serializers.DateTimeField()


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 2, 3, 4, 5, tzinfo=datetime.UTC),  # no microseconds
        datetime.datetime(2026, 6, 1, 23, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
        datetime.datetime(
            1999, 12, 31, 23, 59, 59, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
        ),
    ],
)
def test_time_is_drf_datetime_output(value):
    assert _time(value) == DRF_DATETIME.to_representation(value)
