"""Serializer fields shared by the apps."""

from django.db import connection
from rest_framework import serializers


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by primary key that takes only an integer within the key column's range.

    DRF's field hands any JSON value to the ORM: `1.5` is rounded to an existing row, `true` is
    row 1, and 1e400 (a float infinity) is a 500. Here a key is a JSON integer (or a string of
    digits, as DRF accepts) from 1 to the column's largest value; anything else is a 400.
    """

    default_error_messages = {
        **serializers.PrimaryKeyRelatedField.default_error_messages,
        "out_of_range": "Invalid pk - must be an integer from 1 to {maximum}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk_field = self.get_queryset().model._meta.pk
        _, maximum = connection.ops.integer_field_range(pk_field.get_internal_type())
        if not 1 <= data <= maximum:
            self.fail("out_of_range", maximum=maximum)
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string field that takes only JSON strings. DRF's CharField turns a number into its
    text (`"title": 5` is "5"), which the schema (type: string) does not allow."""

    default_error_messages = {"not_a_string": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    default_error_messages = StrictCharField.default_error_messages

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
