"""Idempotent demo data: an owner, an organisation, an API token, and each installed app's
demo data (its `demo.populate(owner=, organisation=)`).

The owner's password and API token are random, made when the owner is first created and
printed that once (only their hashes are stored); `--show-credentials` replaces both with
new ones and prints those. A fixed or key-derived password would be the same, publicly
known login on every installation that ran the demo."""
import base64
import hashlib
import hmac
import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from manager.accounts import services
from manager.accounts.models import ApiToken, Membership, User, hash_token
from manager.accounts.roles import Role
from manager.core.discovery import app_modules

DEMO_EMAIL = "owner@demo.example"
DEMO_ORGANISATION = "Demo Hosting"
DEMO_TOKEN_NAME = "demo"


# What earlier versions gave every installation: a fixed password and a token derived from
# the (usually development) SECRET_KEY. An owner still holding them gets new ones.
LEGACY_PASSWORD = "demo-owner-2026"


def _legacy_tokens() -> list[str]:
    keys = {settings.SECRET_KEY, settings.DEVELOPMENT_SECRET_KEY}
    return [ApiToken.PREFIX + base64.urlsafe_b64encode(
        hmac.new(key.encode(), b"demo-api-token", hashlib.sha256).digest()).decode().rstrip("=")
        for key in keys]


def _holds_known_credentials(user) -> bool:
    return user.check_password(LEGACY_PASSWORD) or ApiToken.objects.filter(
        user=user, revoked__isnull=True,
        token_hash__in=[hash_token(raw) for raw in _legacy_tokens()]).exists()


def new_demo_password() -> str:
    return "demo-" + secrets.token_urlsafe(12)


def _new_demo_token(user) -> str:
    legacy = [hash_token(raw) for raw in _legacy_tokens()]
    for token in (ApiToken.objects.filter(user=user, revoked__isnull=True, name=DEMO_TOKEN_NAME)
                  | ApiToken.objects.filter(user=user, revoked__isnull=True, token_hash__in=legacy)):
        services.api_token_revoke(actor=user, token=token)
    return services.api_token_create(actor=user, name=DEMO_TOKEN_NAME)[1]


class Command(BaseCommand):
    help = ("Create (or refresh) the demo data; print the owner's login and an API token when "
            "they are made (first run, or --show-credentials).")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--show-credentials", action="store_true",
                            help="give the demo owner a new random password and API token and "
                                 "print them (the old ones stop working)")
        parser.add_argument("--force", action="store_true",
                            help="run even on a production configuration (PRODUCTION=1)")

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["force"]:
            raise CommandError("This is a production configuration (PRODUCTION=1): the demo "
                               "would add a known owner and test data. Use --force to add it anyway.")
        password = raw_token = None
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            password = new_demo_password()
            user = services.user_sign_up(email=DEMO_EMAIL, password=password,
                                         full_name="Demo Owner",
                                         organisation_name=DEMO_ORGANISATION)
            raw_token = _new_demo_token(user)
        elif options["show_credentials"] or _holds_known_credentials(user):
            password = new_demo_password()
            user.set_password(password)
            user.is_active = True
            user.save()
            raw_token = _new_demo_token(user)
        membership = (Membership.objects.filter(user=user, role=Role.OWNER,
                                                organisation__name=DEMO_ORGANISATION)
                      .select_related("organisation").first())
        organisation = membership.organisation if membership else services.organisation_create(
            actor=user, name=DEMO_ORGANISATION)
        for demo in app_modules("demo", needs="populate"):
            demo.populate(owner=user, organisation=organisation)
        result = {"email": user.email, "password": password, "api_token": raw_token,
                  "organisation_id": organisation.pk}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        elif password:
            self.stdout.write(
                f"Demo owner: {result['email']}\nPassword:   {password}\n"
                f"API token:  {raw_token}\nOrganisation id: {organisation.pk}\n"
                "Shown this once: keep them (manage.py demo --show-credentials sets new ones).")
        else:
            self.stdout.write(
                f"Demo owner: {result['email']} (password and API token as shown when they were "
                f"made; manage.py demo --show-credentials sets new ones)\n"
                f"Organisation id: {organisation.pk}")
        return None
