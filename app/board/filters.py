"""Query-string filters for the post list."""

import django_filters

from board.models import Post


class PostFilter(django_filters.FilterSet):
    author = django_filters.CharFilter(
        field_name="author__username", help_text="Username of the author."
    )
    tag = django_filters.CharFilter(method="filter_tag", help_text="A tag name.")

    class Meta:
        model = Post
        fields = ["author", "tag"]

    def filter_queryset(self, queryset):
        # Deactivated authors are shown as null, so they cannot be searched for either.
        if self.form.cleaned_data.get("author"):
            queryset = queryset.filter(author__is_active=True)
        return super().filter_queryset(queryset)

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__name=value.strip().lower())
