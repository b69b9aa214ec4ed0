"""The API's JSON parser: DRF's, with a nesting limit.

Python's decoder raises RecursionError (a 500) on a body of a few thousand `[`. No input of the
API nests deeper than a list in an object, so anything deeper than MAX_JSON_DEPTH is refused as
a 400. The body's size is limited before (DATA_UPLOAD_MAX_MEMORY_SIZE: DRF reads request.body,
and core.exceptions turns Django's refusal into a 413).
"""

import codecs

from rest_framework import exceptions, parsers
from rest_framework.parsers import get_encoding
from rest_framework.utils import json

MAX_JSON_DEPTH = 8


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iterative: no recursion of our own)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = get_encoding(parser_context)
        body = stream.read()
        parse_constant = json.strict_constant if self.strict else None
        try:
            text = codecs.decode(body, encoding)
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise exceptions.ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
            ) from exc
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
            )
        return data
