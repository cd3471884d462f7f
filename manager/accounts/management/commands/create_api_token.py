"""Print a new API token for an existing account."""
from django.core.management.base import BaseCommand, CommandError

from manager.accounts import services
from manager.accounts.models import User


class Command(BaseCommand):
    help = "Create an API token for the user with this e-mail and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, email, name, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No account uses {email}.")
        _token, raw = services.api_token_create(actor=user, name=name)
        self.stdout.write(raw)
