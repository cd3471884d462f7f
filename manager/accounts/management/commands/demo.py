"""Idempotent demo data: an owner, an organisation, an API token, and each installed app's
demo data (its `demo.populate(owner=, organisation=)`)."""
import base64
import hashlib
import hmac
import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from manager.accounts import services
from manager.accounts.models import ApiToken, Membership, User, hash_token
from manager.accounts.roles import Role
from manager.core.discovery import app_modules

DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-owner-2026"
DEMO_ORGANISATION = "Demo Hosting"


def demo_token() -> str:
    """Derived from SECRET_KEY so that every run prints the same, still-valid token."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"demo-api-token", hashlib.sha256).digest()
    return ApiToken.PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Command(BaseCommand):
    help = "Create (or refresh) the demo data and print the owner's login and an API token."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    @transaction.atomic
    def handle(self, *args, **options):
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = services.user_sign_up(email=DEMO_EMAIL, password=DEMO_PASSWORD,
                                         full_name="Demo Owner",
                                         organisation_name=DEMO_ORGANISATION)
        else:
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save()
        membership = (Membership.objects.filter(user=user, role=Role.OWNER,
                                                organisation__name=DEMO_ORGANISATION)
                      .select_related("organisation").first())
        organisation = membership.organisation if membership else services.organisation_create(
            actor=user, name=DEMO_ORGANISATION)
        raw = demo_token()
        ApiToken.objects.update_or_create(
            token_hash=hash_token(raw),
            defaults={"user": user, "name": "demo", "hint": raw[:10], "revoked": None})
        for demo in app_modules("demo", needs="populate"):
            demo.populate(owner=user, organisation=organisation)
        result = {"email": user.email, "password": DEMO_PASSWORD, "api_token": raw,
                  "organisation_id": organisation.pk}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"Demo owner: {result['email']}\nPassword:   {result['password']}\n"
                f"API token:  {result['api_token']}\nOrganisation id: {organisation.pk}")
        return None

