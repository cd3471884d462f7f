"""Limit/offset pagination with a maximum page size (own module: DRF imports it early).

DRF's own class quietly replaces a `limit` it cannot use (`abc`, `-1`, `100000`) by the
default or the maximum: a client asking for 5,000 rows then believes it has them all. Here
such a value is a 400 naming the parameter and the allowed range."""
from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

# Far past any real list; what the databases' OFFSET takes on every backend.
MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = settings.API_PAGE_SIZE_MAX

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return self._number(raw, self.limit_query_param, low=1, high=self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        return self._number(raw, self.offset_query_param, low=0, high=MAX_OFFSET)

    @staticmethod
    def _number(raw: str, name: str, *, low: int, high: int) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise ValidationError(
                {name: [f"Must be a whole number from {low} to {high}."]}, code="out_of_range")
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_limit,
                                           default=self.default_limit)
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0, maximum=MAX_OFFSET)
        return parameters
