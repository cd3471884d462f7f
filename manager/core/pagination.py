"""Limit/offset pagination with a maximum page size (own module: DRF imports it early)."""
from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = settings.API_PAGE_SIZE_MAX
