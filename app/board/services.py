"""Writes to the board: posts, comments and tags. Views, the admin and seed_demo call these.

Updates write only the columns they change, and only to a live row; deletes and restores are
conditional UPDATEs (core.models.SoftDeleteModel). A function returns False or raises when the
row it was given is no longer live, so a racing request loses cleanly instead of undoing the
other one.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from board.models import TAGS_PER_POST_MAX, Comment, Post, Tag

PARENT_IS_FIXED = "The parent of a comment cannot be changed."


def tags_named(names) -> list[Tag]:
    """Tags by (lowercase) name; unknown names are created, races resolved by the unique index."""
    names = sorted({name.strip().lower() for name in names})
    if len(names) > TAGS_PER_POST_MAX:
        raise ValidationError({"tags": f"A post has at most {TAGS_PER_POST_MAX} tags."})
    if not names:
        return []
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=names))


def _validate_fields(model, changes: dict) -> None:
    """The model fields' own validators (lengths) for an UPDATE that skips full_clean()."""
    errors = {}
    for name, value in changes.items():
        try:
            model._meta.get_field(name).run_validators(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def _update_live(instance, changes: dict, touch: bool = False) -> bool:
    """UPDATE only `changes` (and updated_at) of a live row; False if it is no longer live.
    `touch`: something else of the row changed (its tags), so updated_at moves anyway."""
    _validate_fields(type(instance), changes)
    changes = {k: v for k, v in changes.items() if getattr(instance, k) != v}
    if not changes and not touch:
        return type(instance).objects.filter(pk=instance.pk).exists()
    changes["updated_at"] = timezone.now()
    updated = type(instance).all_objects.filter(pk=instance.pk, is_deleted=False).update(**changes)
    if updated:
        for field, value in changes.items():
            setattr(instance, field, value)
    return bool(updated)


@transaction.atomic
def post_create(*, author, title: str, content: str, tags=()) -> Post:
    post = Post(author=author, title=title, content=content)
    post.full_clean()
    post.save()
    post.tags.set(tags_named(tags))
    return post


@transaction.atomic
def post_update(*, post: Post, title=None, content=None, tags=None) -> bool:
    """Changes the given fields (None: unchanged). False when the post is no longer live."""
    changes = {k: v for k, v in {"title": title, "content": content}.items() if v is not None}
    new_tags = tags_named(tags) if tags is not None else None
    tags_change = new_tags is not None and {tag.pk for tag in new_tags} != set(
        post.tags.values_list("pk", flat=True)
    )
    if not _update_live(post, changes, touch=tags_change):
        return False
    if tags_change:
        post.tags.set(new_tags)
    return True


def post_soft_delete(*, post: Post) -> bool:
    return post.soft_delete()


def comment_create(*, post: Post, author, content: str, parent: Comment | None = None) -> Comment:
    comment = Comment(post=post, author=author, content=content, parent=parent)
    comment.full_clean()  # Comment.clean: the parent is on the same post
    comment.save()
    return comment


def visible_parent(comment: Comment) -> Comment | None:
    """The parent as the API shows it: none once the parent is deleted."""
    parent = comment.parent
    return parent if parent is not None and not parent.is_deleted else None


def comment_update(*, comment: Comment, content=None, **unchanged) -> bool:
    """Changes the content. The parent is fixed at creation: it may be sent back as it reads
    (null once deleted), never changed. False when no longer live."""
    if "parent" in unchanged and unchanged["parent"] != visible_parent(comment):
        raise ValidationError({"parent": PARENT_IS_FIXED})
    return _update_live(comment, {"content": content} if content is not None else {})


def comment_soft_delete(*, comment: Comment) -> bool:
    return comment.soft_delete()


def soft_delete(instance) -> bool:
    """Post or comment (the admin's action works on both)."""
    return instance.soft_delete()


def restore(instance) -> bool:
    return instance.restore()
