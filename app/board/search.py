"""`?search=` on the post list: PostgreSQL full-text search over an indexed document.

Why full-text search and not pg_trgm: people search a board the way they search the web, by
words ("deploy nginx"), phrases in quotes and `-word` to exclude; they expect "posts" to find
"post" and do not expect "ngin" to find "nginx". websearch_to_tsquery() gives exactly that
syntax, never raises on odd input (a lone quote is just ignored), and needs no extension, so
the owner role's migration creates everything (pg_trgm would need CREATE on the database and a
much larger index, and cannot use it for patterns under three characters).

Results stay newest first (the list's keyset ordering) instead of ranked: a rank is not a
column the cursor can key on, so ranking would break stable pagination, and on a board the
newest matching discussion is what people look for.

The document is to_tsvector(SEARCH_CONFIG, title || ' ' || content), computed in the query and
indexed by an expression GIN index over live posts (migration 0003: built concurrently, no table
rewrite). The planner reads that index only for an expression equal to the index's, so
SearchDocument writes exactly that text (not Django's SearchVector, which adds COALESCE and
binds the configuration as a parameter). The ORM selects it nowhere: list and detail queries
do not carry it. SQLite, the embedded default, has no full-text search here: it falls back to
DRF's `icontains` per word.
"""

import datetime

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connections
from django.db.models import DateTimeField, ExpressionWrapper, F, Func, Value
from rest_framework import filters, serializers
from rest_framework.exceptions import ValidationError

# The text search configuration of the indexed document (its stemming and stop words). It is
# part of the index's expression in migration 0003; changing it needs a new migration.
SEARCH_CONFIG = "english"
SEARCH_INDEX = "post_live_search_idx"
# Long enough for any real query; longer input is a 400, not a slow plan over many terms.
SEARCH_MAX_LENGTH = 200

_NO_TIME = datetime.timedelta(0)


class SearchDocument(Func):
    """A post's document, as the text of post_live_search_idx's expression (migration 0003):
    to_tsvector('english'::regconfig, "post"."title" || ' ' || "post"."content"). The
    configuration is a literal, not a parameter, as in the index."""

    template = f"to_tsvector('{SEARCH_CONFIG}'::regconfig, %(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = SearchVectorField()

    def __init__(self):
        super().__init__(F("title"), F("content"))


def search_posts(queryset, text: str):
    """Live posts whose document matches `text` in web-search syntax (PostgreSQL only).

    Pages are ordered by `created_at + interval '0'` (core.pagination: `sort_created_at`), the
    same order. Ordered by the column itself, the planner may walk post_live_created_idx newest
    first and test each row, expecting the default 0.5% of rows to match a word it has no
    statistics for: a rare word or a typo then reads the whole table (measured: 0.5 s at 300k
    posts, for `bench post 777` or `zzz`). Without that path it reads the GIN index and sorts
    the matches: fast for specific words; a word in most posts costs a scan of them.
    """
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    return (
        queryset.alias(search_document=SearchDocument())
        .filter(search_document=query)
        .alias(
            sort_created_at=ExpressionWrapper(
                F("created_at") + Value(_NO_TIME), output_field=DateTimeField()
            )
        )
    )


class PostSearchFilter(filters.SearchFilter):
    """Full-text search on PostgreSQL; DRF's icontains on each word (search_fields) elsewhere."""

    search_description = (
        "Words to find in the title or content. On PostgreSQL: web-search syntax "
        '(`"a phrase"`, `-excluded`, `or`), English stemming; elsewhere: each word as a substring.'
    )

    def _search_text(self, request) -> str:
        field = serializers.CharField(
            max_length=SEARCH_MAX_LENGTH, allow_blank=True, trim_whitespace=True
        )
        try:
            # Also refuses NUL characters, which PostgreSQL text cannot hold.
            return field.run_validation(request.query_params.get(self.search_param, ""))
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc

    def filter_queryset(self, request, queryset, view):
        text = self._search_text(request)
        if not text:
            return queryset
        if connections[queryset.db].vendor == "postgresql":
            return search_posts(queryset, text)
        return super().filter_queryset(request, queryset, view)
