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

The document is the column post.search_document, to_tsvector(SEARCH_CONFIG) of title and
content, kept by a trigger and indexed by a GIN index over live posts (migration 0004; neither
is in the model state, so the ORM selects the column nowhere). SQLite, the embedded default,
has no full-text search here: it falls back to DRF's `icontains` per word.

Common words: a query that is a plain AND of words ("bench post 777") reads the index for its
rare words only and checks the whole query on each row the index gives (search_plan); a query
of common words only walks the newest posts instead. Reading the index for a word in most posts
decodes a posting list as long as the table: at 1M posts, 15 of the query's 20 ms. Which words
are common comes from PostgreSQL's own statistics of the column (pg_stats.most_common_elems,
written by ANALYZE), read once per COMMON_STATS_SECONDS.
"""

import datetime
import functools
import math
import re
import time

from django.contrib.postgres.search import SearchQuery, SearchQueryField, SearchVectorField
from django.db import connections
from django.db.models import (
    BooleanField,
    DateTimeField,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    Value,
)
from django.db.models.functions import Cast
from rest_framework import filters, serializers
from rest_framework.exceptions import ValidationError

# The text search configuration of the document (its stemming and stop words). It is part of
# the trigger of migration 0004; changing it needs a new migration that refills the column.
SEARCH_CONFIG = "english"
SEARCH_COLUMN = "search_document"
SEARCH_INDEX = "post_live_document_idx"
# Long enough for any real query; longer input is a 400, not a slow plan over many terms.
SEARCH_MAX_LENGTH = 200
# A word in at least this share of live posts is checked on the index's candidate rows instead
# of read from the index, when the query has a rarer word to read the index for.
COMMON_WORD_SHARE = 0.05
# How long a process trusts the statistics it read (ANALYZE runs them again as posts change).
COMMON_STATS_SECONDS = 600

_NO_TIME = datetime.timedelta(0)
# A lexeme as tsquery's text output writes it: quoted, a quote doubled, a backslash escaped.
_LEXEME = re.compile(r"'(?:[^'\\]|''|\\.)*'")


class SearchDocument(Expression):
    """The column post.search_document (migration 0004), which the model does not declare."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.base_table)
        return f"{table}.{connection.ops.quote_name(SEARCH_COLUMN)}", []


class Matches(Func):
    """`document @@ query`: the operator the GIN index answers."""

    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()


class MatchesUnindexed(Func):
    """The same test as a function call, which the planner does not take to the index: it is
    checked on each row the index found for the rare words."""

    function = "ts_match_vq"
    output_field = BooleanField()


def search_posts(queryset, text: str):
    """Live posts whose document matches `text` in web-search syntax (PostgreSQL only).

    Pages are ordered by `created_at + interval '0'` (core.pagination: `sort_created_at`), the
    same order. Ordered by the column itself, the planner may walk post_live_created_idx newest
    first and test each row, expecting the default 0.5% of rows to match a word it has no
    statistics for: a rare word or a typo then reads the whole table (measured: 0.5 s at 300k
    posts, for `bench post 777` or `zzz`). Without that path it reads the GIN index and sorts
    the matches. When every word is common (search_plan: NEWEST) that walk is what is wanted:
    the newest posts match within a few rows, where the index would give most of the table.
    """
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    plan, rare = search_plan(queryset.db, text)
    if plan == NEWEST:
        return queryset.filter(MatchesUnindexed(SearchDocument(), query))
    if plan == RARE:
        index_query = Cast(Value(" & ".join(rare)), output_field=SearchQueryField())
        conditions = [
            Matches(SearchDocument(), index_query),
            MatchesUnindexed(SearchDocument(), query),
        ]
    else:
        conditions = [Matches(SearchDocument(), query)]
    return queryset.filter(*conditions).alias(
        sort_created_at=ExpressionWrapper(
            F("created_at") + Value(_NO_TIME), output_field=DateTimeField()
        )
    )


# How search_posts finds the matches (search_plan).
INDEX = "index"  # the GIN index for the whole query
RARE = "rare"  # the GIN index for the rare words; the whole query checked on each row found
NEWEST = "newest"  # the newest posts, each checked, until a page is full


def search_plan(db: str, text: str) -> tuple[str, tuple[str, ...]]:
    """How to search for `text`, and for RARE its rare lexemes (quoted, as tsquery text).

    Only a plain AND of words is split (phrases, `or` and `-word` read the index whole). NEWEST
    when every word is common and, taken as independent, together they are in at least
    COMMON_WORD_SHARE of posts, so a page is found within a few hundred rows."""
    lexemes = _and_of_lexemes(db, text)
    if lexemes is None:
        return INDEX, ()
    shares = _common_lexemes(db)
    words = [(lexeme, _unquote(lexeme)) for lexeme in lexemes]
    rare = tuple(lexeme for lexeme, word in words if word not in shares)
    if not rare:
        together = math.prod(shares[word] for _, word in words)
        return (NEWEST, ()) if together >= COMMON_WORD_SHARE else (INDEX, ())
    if len(rare) < len(lexemes):
        return RARE, rare
    return INDEX, ()


@functools.lru_cache(maxsize=1024)
def _and_of_lexemes(db: str, text: str) -> tuple[str, ...] | None:
    """websearch_to_tsquery(text) as its quoted lexemes if it is only lexemes joined by `&`.
    Cached: the function is immutable, and popular searches repeat."""
    with connections[db].cursor() as cursor:
        cursor.execute(
            "SELECT websearch_to_tsquery(%s::regconfig, %s)::text", [SEARCH_CONFIG, text]
        )
        (tsquery,) = cursor.fetchone()
    lexemes = tuple(_LEXEME.findall(tsquery))
    return lexemes if lexemes and " & ".join(lexemes) == tsquery else None


def _unquote(lexeme: str) -> str:
    return re.sub(r"\\(.)", r"\1", lexeme[1:-1].replace("''", "'"))


# Per database alias: when read, and the shares. Threads that find it stale at once each read it
# again; the reads agree, and the last one stays.
_common: dict[str, tuple[float, dict[str, float]]] = {}


def _common_lexemes(db: str) -> dict[str, float]:
    """Lexemes in at least COMMON_WORD_SHARE of posts, with their share, from the column's
    statistics (none before the first ANALYZE: every query then reads the index whole)."""
    now = time.monotonic()
    read_at, lexemes = _common.get(db, (float("-inf"), {}))
    if now - read_at < COMMON_STATS_SECONDS:
        return lexemes
    with connections[db].cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'post' AND attname = %s",
            [SEARCH_COLUMN],
        )
        row = cursor.fetchone()
    elements, frequencies = row if row and row[0] else ((), ())
    # most_common_elem_freqs ends with three more numbers (min, max, null share): zip drops them.
    lexemes = {
        element: share
        for element, share in zip(elements, frequencies, strict=False)
        if share >= COMMON_WORD_SHARE
    }
    _common[db] = (now, lexemes)
    return lexemes


class PostSearchFilter(filters.SearchFilter):
    """Full-text search on PostgreSQL; DRF's icontains on each word (search_fields) elsewhere."""

    search_description = (
        "Words to find in the title or content. On PostgreSQL: web-search syntax "
        '(`"a phrase"`, `-excluded`, `or`), English stemming; elsewhere: each word as a substring.'
    )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.search_param:
                parameter["schema"] = {"type": "string", "maxLength": SEARCH_MAX_LENGTH}
        return parameters

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
        if not self.get_search_terms(request):
            # Only quotes (`"`): no word to find, as websearch_to_tsquery() finds none on
            # PostgreSQL. DRF would search for "" and match every post.
            return queryset.none()
        return super().filter_queryset(request, queryset, view)

    def get_search_terms(self, request):
        return [term for term in super().get_search_terms(request) if term]
