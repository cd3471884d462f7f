"""People, organisations, memberships, invitations, API tokens and web sessions."""
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from manager.core.querysets import RestrictedManager

from .roles import VIEW_ORGANISATION, Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; the e-mail address is the login."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    # The language the person last used the panel in: e-mails sent to them later (a new
    # signature to complete) are written in it. "" until they are seen once.
    language = models.CharField(_("language"), max_length=10, blank=True,
                                choices=settings.LANGUAGES)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        super().save(*args, **kwargs)


class Organisation(models.Model):
    """Owns products (mail services, domains, zones) and has members."""

    name = models.CharField(_("name"), max_length=120)
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = ""
    view_action = VIEW_ORGANISATION  # every member sees that it belongs to it
    objects = RestrictedManager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def organisation_id(self):
        return self.pk


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(auto_now_add=True)

    organisation_field = "organisation"
    objects = RestrictedManager()

    class Meta:
        ordering = ["organisation_id", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="unique_membership"),
        ]

    def __str__(self):
        return f"{self.user} ({self.role}) in {self.organisation}"


def invitation_expiry():
    return timezone.now() + timezone.timedelta(days=settings.INVITATION_VALID_DAYS)


class InvitationLink(models.Model):
    """What every invitation is: a single-use link for one e-mail address, valid
    INVITATION_VALID_DAYS, that can be revoked and sent again. Only the SHA-256 of the
    token is kept; only the account with the invited e-mail may accept it."""

    email = models.EmailField(_("invited e-mail"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(default=invitation_expiry)
    accepted = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    revoked = models.DateTimeField(null=True, blank=True)
    last_sent = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-created", "-id"]

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        if self.accepted:
            return "accepted"
        if self.expires <= timezone.now():
            return "expired"
        return "pending"

    def is_for(self, user) -> bool:
        """The link is bound to its e-mail; one without an e-mail is for nobody."""
        return (bool(self.email) and user is not None and user.is_authenticated
                and user.email.lower() == self.email.lower())

    @property
    def masked_email(self) -> str:
        """The invited e-mail as shown to someone who may not be its owner: m…@example.net."""
        local, _at, domain = self.email.partition("@")
        return f"{local[:1]}…@{domain}" if local else ""

    @property
    def inviter_name(self) -> str:
        person = self.created_by
        return (person.full_name or person.email) if person is not None else ""


class OrganisationInvitation(InvitationLink):
    """An invitation to join an organisation with a role. Adding a person by e-mail always
    goes through one, so nobody learns whether the e-mail has an account."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="invitations")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.MEMBER)

    organisation_field = "organisation"
    objects = RestrictedManager()

    def __str__(self):
        return f"invitation of {self.email} to {self.organisation}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the token is shown once."""

    PREFIX = "mm_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False)  # first characters, to tell tokens apart
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self):
        return self.revoked is None


class WebSession(AbstractBaseSession):
    """A web session (SESSION_ENGINE manager.accounts.sessions) that also records whose it
    is: a person's sessions are ended (a role change, disabling them) with one indexed
    delete instead of decoding every open session."""

    user_id = models.BigIntegerField(null=True, db_index=True)

    class Meta:
        db_table = "accounts_web_session"

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore
