"""The demo's zone, the link from mail services to their Domain (also for services that
existed before it, by the migration), and the pure core's purity."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dnszones.models import Domain, Record
from mailservice.models import MailService
from tests.factories import make_organisation, make_user

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_demo_serves_its_domain_with_a_few_records_once(capsys):
    call_command("demo", "--json")
    domain = Domain.objects.get(name="demo.example")
    records = set(Record.objects.filter(domain=domain).values_list("name", "type", "value"))
    call_command("demo", "--json")
    capsys.readouterr()
    assert domain.uses_our_dns and MailService.objects.get(domain="demo.example").domain_ref == domain
    assert set(Record.objects.filter(domain=domain).values_list("name", "type", "value")) == records
    # The demo's own records beside those its mail service installed (MX, SPF, DMARC, …):
    # where the service has one of a kind, the demo adds none.
    installed = Record.objects.filter(domain=domain).exclude(managed_by="")
    assert {("@", "A", "192.0.2.10"), ("mail", "A", "192.0.2.25")} <= records
    assert installed.filter(type="MX").count() == 1 and installed.count() == len(records) - 3


@pytest.mark.django_db
def test_a_new_mail_service_is_on_its_organisations_domain(owner, organisation, premium):
    assert premium.domain_ref.name == "domain.xyz"
    assert premium.domain_ref.organisation == organisation
    assert premium.domain_ref.uses_our_dns is False  # nothing published without the owner's say


@pytest.mark.django_db
def test_a_mail_service_on_another_organisations_domain_is_refused(owner, organisation, outsider,
                                                                    other_organisation):
    from mailservice import services
    from manager.core.errors import Conflict
    from tests.factories import make_domain

    make_domain(outsider, other_organisation, "theirs.example")
    with pytest.raises(Conflict):
        services.mail_service_create(actor=owner, organisation=organisation, domain="theirs.example",
                                     plan="starter")


@pytest.mark.django_db(transaction=True)
def test_the_migration_links_existing_mail_services_to_created_domains():
    executor = MigrationExecutor(connection)
    before = [("mailservice", "0006_address_sieve_failure"), ("dnszones", None)]
    executor.migrate(before)
    old_apps = executor.loader.project_state([before[0]]).apps
    owner = make_user("old@example.org")
    organisation = make_organisation(owner, "Old")
    OldService = old_apps.get_model("mailservice", "MailService")
    OldService.objects.create(organisation_id=organisation.pk, domain="legacy.example",
                              plan="starter", capacity=1)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    service = MailService.objects.get(domain="legacy.example")
    assert service.domain_ref.name == "legacy.example"
    assert service.domain_ref.organisation_id == organisation.pk
    assert service.domain_ref.uses_our_dns is False


PURE = sorted(f"dnszones.{core}" if p.stem == "__init__" else f"dnszones.{core}.{p.stem}"
              for core in ("zone", "spf") for p in (ROOT / "dnszones" / core).glob("*.py"))
CHILD = """
import importlib, json, sys
sys.modules["subprocess"] = None
sys.path.insert(0, sys.argv[1])
for name in sys.argv[3:]:
    importlib.import_module(name)
print(json.dumps([n for n in json.loads(sys.argv[2]) if n in sys.modules]))
"""


def test_the_zone_and_spf_cores_import_without_django_subprocess_or_lookups():
    assert "dnszones.zone.zonefile" in PURE and "dnszones.spf.flatten" in PURE
    # dnspython itself imports socket, threading and tempfile; what the core must not reach
    # is Django, the database, or the network modules that do lookups.
    unwanted = ["django", "django.db", "dnszones.models", "dns.resolver", "dns.query"]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), json.dumps(unwanted), *PURE],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
