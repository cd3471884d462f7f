"""API: `addresses/{id}/folders/` — the mailbox's real folders (GET), create one (POST)."""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from manager.core.serializers import Serializer

from .. import services
from ..models import Address
from .addresses import AddressScopedMixin

FolderList = inline_serializer("FolderList", {"folders": serializers.ListField(child=serializers.CharField())})
UNAVAILABLE = OpenApiResponse(description="`backend_unavailable`: the mail backend could not be "
                                          "reached; nothing was changed.")


class FolderListSchema(AutoSchema):
    """The list is one object holding the folder names, not an array of objects."""

    def _is_list_view(self, serializer=None):
        return False


class FolderSerializer(Serializer):
    name = serializers.CharField(max_length=500, help_text='Sub-folders with "/", e.g. "Mail List/SL-Devel".')


class FolderViewSet(AddressScopedMixin, viewsets.GenericViewSet):
    """Folders live in the mailbox, not in Mail Manager: read and created through the
    backend. Reading needs "read" or "manage rules"; creating needs "manage rules"."""

    serializer_class = FolderSerializer
    queryset = Address.objects.none()
    pagination_class = None
    schema = FolderListSchema()

    @extend_schema(responses={200: FolderList, 422: UNAVAILABLE})
    def list(self, request, *args, **kwargs):
        return Response({"folders": services.folder_list(actor=request.user, address=self.address())})

    @extend_schema(responses={201: FolderSerializer, 422: UNAVAILABLE})
    def create(self, request, *args, **kwargs):
        address = self.address()  # another organisation's address is a 404, not a 400
        serializer = FolderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name = services.folder_create(actor=request.user, address=address,
                                     name=serializer.validated_data["name"])
        return Response({"name": name}, status=status.HTTP_201_CREATED)


def register(router):
    router.register(r"addresses/(?P<address_pk>\d+)/folders", FolderViewSet, basename="folder")
