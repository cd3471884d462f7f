"""The synonym domains of a domain: `domains/{id}/synonyms/`."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from mailservice.validators import clean_domain
from manager.accounts.roles import CHANGE
from manager.core.api import RestrictedViewSet
from manager.core.errors import ServiceError
from manager.core.serializers import ModelSerializer

from .. import services
from ..models import Domain
from .domain_scope import DomainScopedMixin
from .sync import SyncStatusMixin


class SynonymSerializer(SyncStatusMixin, ModelSerializer):
    """A synonym domain: `synonym_of` is the main domain's id."""

    domain = serializers.CharField(write_only=True, max_length=253,
                                   help_text="The name of the domain to make a synonym.")
    name = serializers.CharField(read_only=True)
    unicode_name = serializers.CharField(read_only=True)
    synonym_of = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Domain
        fields = ["id", "domain", "name", "unicode_name", "synonym_of", "sync_status",
                  "sync_error", "last_applied"]


class SynonymViewSet(DomainScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                     mixins.DestroyModelMixin, RestrictedViewSet):
    """The synonym domains of the domain in the URL. A synonym serves a copy of the main
    zone (owner names re-rooted, targets the main domain's hosts; no DKIM keys, no
    `_acme-challenge`, DMARC report addresses rewritten), kept in sync with it, and receives
    the main domain's mail (its addresses, aliases and catchall). POST with `domain`, the
    name of a domain of the same organisation that uses our DNS and is linked to no
    product; its own records are deleted. Refusals are 400 with a `code`:
    `unknown_domain`, `same_domain`, `other_organisation`, `main_is_synonym`,
    `main_external_dns`, `main_has_newsletter`, `already_synonym`, `has_synonyms`,
    `external_dns`, `linked_to_product`. DELETE dissociates (the domain stays, with
    nothing of the main domain: its zone is back to SOA and NS only and its mail is
    refused at RCPT)."""

    queryset = Domain.objects.all()
    serializer_class = SynonymSerializer
    action_map_to_permission = {"create": CHANGE, "destroy": CHANGE}

    def get_queryset(self):
        return (Domain.objects.restrict(self.request.user, "view")
                .filter(synonym_of=self.domain()).order_by("name", "pk"))

    def create(self, request, *args, **kwargs):
        main = self.domain()
        self.require(CHANGE, main)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            name = clean_domain(serializer.validated_data["domain"])
        except ValidationError:
            name = None
        # A domain the caller cannot see is unknown, whether or not it exists.
        visible = Domain.objects.restrict(request.user, "view")
        synonym = visible.filter(name=name).first() if name else None
        if synonym is None:
            text = gettext("No domain of that name is registered here: add it to the "
                           "organisation first.")
            raise ServiceError(text, code="unknown_domain", fields={"domain": [text]})
        synonym = services.synonym_add(actor=request.user, main=main, synonym=synonym)
        return Response(SynonymSerializer(synonym).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.synonym_remove(actor=self.request.user, synonym=instance)
