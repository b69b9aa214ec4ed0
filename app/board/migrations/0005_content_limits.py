"""Hard limits in the database: the length of a post's and a comment's content (CHECK
constraints) and the number of tags of a post (a trigger). Titles (varchar(100)) and tag names
(varchar(30)) were limited already.

Locks on PostgreSQL (the release that serves keeps running while this migrates):
- Each CHECK constraint is added NOT VALID, then validated (AddConstraintNotValid): ACCESS
  EXCLUSIVE only for the catalog change, the scan of the table under SHARE UPDATE EXCLUSIVE,
  which blocks neither reads nor writes. It fails when a row is already over the limit: find
  them with `SELECT post_no FROM post WHERE length(content) > 10000` (comment: comment_no, 2000),
  shorten them, and migrate again.
- The trigger: CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock on post_tags for a catalog change
  only (no scan); existing posts with more tags keep them until their tags are next set.
The validators are in the model state only (no SQL).
"""

import django.core.validators
import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from board.postgresql_migrations import AddConstraintNotValid

TAGS_PER_POST_MAX = 10  # board.models.TAGS_PER_POST_MAX as of this migration

POSTGRESQL_TRIGGER = f"""
CREATE FUNCTION post_tags_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM post_tags WHERE post_id = NEW.post_id) > {TAGS_PER_POST_MAX} THEN
        RAISE EXCEPTION 'a post has at most {TAGS_PER_POST_MAX} tags'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER post_tags_limit AFTER INSERT ON post_tags
    FOR EACH ROW EXECUTE FUNCTION post_tags_limit();
"""
POSTGRESQL_TRIGGER_DROP = """
DROP TRIGGER IF EXISTS post_tags_limit ON post_tags;
DROP FUNCTION IF EXISTS post_tags_limit();
"""
SQLITE_TRIGGER = f"""
CREATE TRIGGER post_tags_limit AFTER INSERT ON post_tags
WHEN (SELECT count(*) FROM post_tags WHERE post_id = NEW.post_id) > {TAGS_PER_POST_MAX}
BEGIN
    SELECT RAISE(ABORT, 'a post has at most {TAGS_PER_POST_MAX} tags');
END;
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_TRIGGER)
    else:
        schema_editor.execute(SQLITE_TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_TRIGGER_DROP)
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS post_tags_limit")


def content_length(max_length, name):
    return models.CheckConstraint(
        condition=django.db.models.lookups.LessThanOrEqual(
            django.db.models.functions.text.Length("content"), max_length
        ),
        name=name,
    )


class Migration(migrations.Migration):
    # NOT VALID and VALIDATE must commit apart (AddConstraintNotValid).
    atomic = False

    dependencies = [("board", "0004_post_search_document_column")]

    operations = [
        migrations.AlterField(
            model_name="comment",
            name="content",
            field=models.TextField(validators=[django.core.validators.MaxLengthValidator(2000)]),
        ),
        migrations.AlterField(
            model_name="post",
            name="content",
            field=models.TextField(validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        AddConstraintNotValid(
            model_name="comment", constraint=content_length(2000, "comment_content_length")
        ),
        AddConstraintNotValid(
            model_name="post", constraint=content_length(10000, "post_content_length")
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
