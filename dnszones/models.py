"""Domains and their DNS records. Facts about a row live here; every write is in the
services package, every zone transform in the pure core (`dnszones.zone`)."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet

from .zone.records import DEFAULT_TTL, RECORD_TYPES, RecordData, shown_value

# The outbox unit of a zone, named by its domain (which never changes), so that a deleted
# domain's zone can still be removed from the DNS server.
PUSH_KIND = "dns_zone"


class Domain(models.Model):
    """A domain of an organisation: either its zone is served by our DNS (`uses_our_dns`)
    or the owner's DNS host serves it and we list the records to create there."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT,
                                     related_name="domains")
    name = models.CharField(_("domain"), max_length=253, unique=True)  # A-label, lower case
    uses_our_dns = models.BooleanField(_("uses our DNS"), default=True)
    dns_host = models.CharField(_("DNS host"), max_length=100, default="default")
    default_ttl = models.PositiveIntegerField(_("default TTL"), default=DEFAULT_TTL)
    # Counts the zone's changes: the SOA serial of exports (the server keeps its own).
    serial = models.PositiveBigIntegerField(default=1, editable=False)
    # The zone as the last successful push left it on the server (zone.state JSON): the
    # next push's prerequisites require exactly this, so an out-of-band edit is detected.
    applied_state = models.JSONField(null=True, blank=True, editable=False)
    # A synonym domain serves a copy of its main domain's zone and receives its mail;
    # it has no records of its own (they are deleted when it becomes one).
    synonym_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="synonyms", editable=False,
                                   verbose_name=_("synonym of"))
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def unicode_name(self) -> str:
        from manager.core.templatetags.idn import to_unicode

        return to_unicode(self.name)


class Record(models.Model):
    """One record of a domain's zone: `name` relative to the zone (`@` for the apex),
    `value` the rdata in zone-file text with absolute names."""

    Type = models.TextChoices("Type", [(t, (t, t)) for t in RECORD_TYPES])

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="records")
    name = models.CharField(_("name"), max_length=253, default="@")
    type = models.CharField(_("type"), max_length=8, choices=Type.choices)
    ttl = models.PositiveIntegerField(_("TTL"), default=DEFAULT_TTL)
    value = models.TextField(_("value"))
    # Who installed the record: "" for the owner, "mail_service:<id>" for a mail service
    # (mailservice/services/dns_records.py), which removes what it installed, and only
    # that, when it goes. An owner's edit makes the record the owner's (records.py).
    managed_by = models.CharField(_("installed by"), max_length=64, blank=True, default="",
                                  editable=False, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    organisation_field = "domain__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["domain_id", "name", "type", "value"]
        indexes = [models.Index(fields=["domain", "name"])]

    def __str__(self):
        return f"{self.name} {self.type} {self.value[:60]}"

    @property
    def data(self) -> RecordData:
        return RecordData(name=self.name, type=self.type, ttl=self.ttl, value=self.value)

    @property
    def shown_value(self) -> str:
        """A TXT record's strings joined; other values as stored."""
        return shown_value(self.type, self.value)

    @property
    def fqdn(self) -> str:
        return self.domain.name if self.name == "@" else f"{self.name}.{self.domain.name}"


class SpfFlattening(models.Model):
    """A domain whose published SPF record is flattened: `source` is the record as its
    owner writes it, with the providers' includes (the source of truth, what qualifier
    switches and merges change); `flattened` is derived from it (includes replaced by the
    addresses they authorise) and is what the zone's apex TXT record holds. A periodic
    task derives it again when a provider's addresses change."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="spf_flattening")
    source = models.TextField(_("SPF record with includes"))
    flattened = models.TextField(_("flattened SPF record"), editable=False)
    inlined = models.JSONField(default=list, editable=False)  # the includes replaced
    lookups_source = models.PositiveIntegerField(default=0, editable=False)
    lookups_flattened = models.PositiveIntegerField(default=0, editable=False)
    flattened_at = models.DateTimeField(editable=False)
    checked_at = models.DateTimeField(editable=False)

    organisation_field = "domain__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["domain_id"]

    def __str__(self):
        return f"SPF of {self.domain.name}"


class SecurityCheck(models.Model):
    """The last security check of a domain's mail DNS (dnszones.security), cached: the
    findings language-neutral (message templates and parameters), and the worst severity
    for the domain list's badge."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="security_check")
    findings = models.JSONField(default=list, editable=False)
    worst = models.CharField(max_length=8, default="ok", editable=False)
    checked_at = models.DateTimeField(editable=False)

    organisation_field = "domain__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["domain_id"]

    def __str__(self):
        return f"security check of {self.domain.name}"


class ProductLink(models.Model):
    """A product other than mail that uses a domain (a newsletter, a website). Mail is
    linked through its mail service (MailService.domain_ref); these are the others, which
    a synonym domain must have none of and a main domain no newsletter of."""

    class Product(models.TextChoices):
        NEWSLETTER = "newsletter", _("Newsletter")
        WEBSITE = "website", _("Website")

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="product_links")
    product = models.CharField(_("product"), max_length=20, choices=Product.choices)
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "domain__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["domain_id", "product"]
        constraints = [models.UniqueConstraint(fields=["domain", "product"],
                                               name="one_link_per_product")]

    def __str__(self):
        return f"{self.get_product_display()} on {self.domain.name}"
