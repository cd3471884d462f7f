"""Signature templates and their published versions, the images they show, the
signatures made from them for the users of addresses, each address's stamping switches,
and the kinds of background job that make signatures in bulk. Facts about a row live
here; every write is in the services package."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedQuerySet

from . import render


class SignatureTemplate(models.Model):
    """An organisation-wide design for the signatures of a mail service's addresses. The
    `design` is the draft being edited; publishing freezes it as a new version, which
    signatures are made from."""

    class Layout(models.TextChoices):
        SIMPLE = render.SIMPLE, _("Simple")
        LOGO = render.LOGO, _("With a logo")
        PHOTO_SOCIAL = render.PHOTO_SOCIAL, _("With a photo and social links")

    mail_service = models.ForeignKey("mailservice.MailService", on_delete=models.CASCADE,
                                     related_name="signature_templates")
    name = models.CharField(_("name"), max_length=200)
    layout = models.CharField(_("layout"), max_length=20, choices=Layout.choices,
                              default=Layout.SIMPLE)
    design = models.JSONField(default=dict)  # render.design_to_dict of the draft
    hidden = models.BooleanField(_("hidden"), default=False, help_text=_(
        "No longer offered for new signatures; existing signatures stay."))
    for_existing_users = models.BooleanField(
        _("for the users of existing addresses"), default=False,
        help_text=_("When published, make signatures for every user of the service's addresses."))
    current_version = models.ForeignKey("SignatureTemplateVersion", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        editable=False)
    # The draft differs from the current version (or nothing was published yet).
    draft_changes = models.BooleanField(default=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    organisation_field = "mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    @property
    def is_published(self) -> bool:
        return self.current_version_id is not None

    @property
    def status(self) -> str:
        """draft (never published), published, or changed (published, with a draft)."""
        if not self.is_published:
            return "draft"
        return "changed" if self.draft_changes else "published"


class SignatureTemplateVersion(models.Model):
    """A published design, immutable: signatures name the version they were made from, so
    a later edit can tell which are outdated."""

    template = models.ForeignKey(SignatureTemplate, on_delete=models.CASCADE,
                                 related_name="versions")
    number = models.PositiveIntegerField()
    design = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    organisation_field = "template__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["template_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"],
                                               name="unique_signature_version")]

    def __str__(self):
        return f"{self.template_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A published signature template version is immutable.")
        super().save(*args, **kwargs)


class SignatureImage(models.Model):
    """A logo or a photo, re-encoded (PNG or JPEG) and served at an unguessable public
    URL: mail clients fetch it without logging in."""

    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                     related_name="signature_images")
    content = models.BinaryField()
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    alt = models.CharField(_("alternative text"), max_length=200)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    organisation_field = "organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.alt} ({self.width}×{self.height})"

    @property
    def extension(self) -> str:
        return "jpg" if self.content_type == "image/jpeg" else "png"


class Signature(models.Model):
    """The signature of one user of an address, made from a template version; `user`
    None: the address's generic signature (a shared address such as contact@), which an
    administrator configures. `values` holds what the user (or administrator) typed; the
    rendered HTML and text are kept with the warnings and the resulting state."""

    class State(models.TextChoices):
        COMPLETE = render.COMPLETE, _("Complete")
        WAITING = render.WAITING, _("Waiting for the user")
        MISSING = render.MISSING, _("Missing profile data")

    address = models.ForeignKey("mailservice.Address", on_delete=models.CASCADE,
                                related_name="signatures")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="signatures")
    template = models.ForeignKey(SignatureTemplate, on_delete=models.CASCADE,
                                 related_name="signatures")
    version = models.ForeignKey(SignatureTemplateVersion, on_delete=models.CASCADE,
                                related_name="signatures")
    values = models.JSONField(default=dict)
    user_done_at = models.DateTimeField(null=True, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    warnings = models.JSONField(default=list)
    state = models.CharField(max_length=24, choices=State.choices, default=State.WAITING)
    notified_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["address_id", "user_id", "template_id"]
        constraints = [
            models.UniqueConstraint(fields=["address", "user", "template"],
                                    condition=Q(user__isnull=False), name="unique_user_signature"),
            models.UniqueConstraint(fields=["address", "template"], condition=Q(user__isnull=True),
                                    name="unique_generic_signature"),
        ]
        indexes = [models.Index(fields=["template", "version"])]

    def __str__(self):
        return f"signature of {self.user_id or 'generic'} on {self.address_id}"

    @property
    def is_generic(self) -> bool:
        return self.user_id is None

    @property
    def is_outdated(self) -> bool:
        return self.version_id != self.template.current_version_id


class AddressSignatureSettings(models.Model):
    """Per address: the template activated on it (its signatures are the ones stamped) and
    the stamping switches the mail stack reads."""

    address = models.OneToOneField("mailservice.Address", on_delete=models.CASCADE,
                                   related_name="signature_settings")
    template = models.ForeignKey(SignatureTemplate, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="activations")
    stamping = models.BooleanField(_("stamp the signature on sent mail"), default=True)
    on_replies = models.BooleanField(_("also on replies and forwards"), default=False)
    updated = models.DateTimeField(auto_now=True)

    organisation_field = "address__mail_service__organisation"
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["address_id"]
        verbose_name_plural = "address signature settings"

    def __str__(self):
        return f"signature settings of {self.address_id}"


class JobKind(models.TextChoices):
    """The bulk work on the signatures of many addresses, run by a worker in batches as
    core Jobs (manager.core.models.Job) of these kinds; the page and the API poll their
    progress. Stored under the app's name, so the shared table tells them from other
    apps' jobs; the API names a kind by its operation (`activate`)."""

    ACTIVATE = "signatures.activate", _("Activate a template")
    CREATE = "signatures.create_signatures", _("Create signatures for users")
    REGENERATE = "signatures.regenerate", _("Regenerate outdated signatures")

    @property
    def operation(self) -> str:
        return self.value.partition(".")[2]

    @classmethod
    def of_operation(cls, operation: str) -> "JobKind | None":
        return next((kind for kind in cls if kind.operation == operation), None)
