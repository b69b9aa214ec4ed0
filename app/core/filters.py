"""Query-string ordering that refuses what it does not know (DRF's ignores it silently)."""

from rest_framework import filters
from rest_framework.exceptions import ValidationError


class StrictOrderingFilter(filters.OrderingFilter):
    """`?ordering=` takes exactly one of the view's ordering fields, ascending or descending
    (`created_at`, `-created_at`); anything else is a 400, and the schema lists the choices."""

    def _choices(self, view) -> list[str]:
        return [f"{sign}{field}" for field in view.ordering_fields for sign in ("", "-")]

    def get_ordering(self, request, queryset, view):
        value = request.query_params.get(self.ordering_param)
        if value is not None and value not in self._choices(view):
            raise ValidationError(
                {self.ordering_param: [f"One of: {', '.join(self._choices(view))}."]}
            )
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "The order of the results (newest first by default).",
                "schema": {"type": "string", "enum": self._choices(view)},
            }
        ]
