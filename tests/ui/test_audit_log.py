"""The audit log page reads like a history: the kind of object and the field labels in the
user's language, one before → after line per changed field only, values in words (lists
joined, Yes/No, "key: value"), times in the active locale; never a Python repr."""
import re

import pytest

from mailservice import services
from manager.audit.models import AuditEntry
from tests.factories import grant

pytestmark = pytest.mark.django_db


def entry_cell(html, object_id):
    """The "Changes" cell of the (latest) entry about object #object_id."""
    row = re.search(rf"<tr><td><time[^>]*>.*?#{object_id}<br>.*?</tr>", html, re.S)
    assert row, object_id
    return row.group(0)


def test_an_update_shows_only_the_changed_fields_before_and_after(client, owner, alice):
    services.address_update(actor=owner, address=alice, display_name="Alice Martin", enabled=False)
    client.force_login(owner)
    html = client.get("/audit-log/?action=update&object_type=mailservice.address").content.decode()
    cell = entry_cell(html, alice.pk)
    assert ">Address #" in cell
    assert re.search(r"<dt>Display name</dt>\s*<dd class=\"change-changed\"><del>Alice</del>.*?"
                     r"<ins>Alice Martin</ins></dd>", cell, re.S)
    assert re.search(r"<dt>Enabled</dt>\s*<dd class=\"change-changed\"><del>Yes</del>.*?<ins>No</ins>",
                     cell, re.S)
    assert "Quota" not in cell and "Local part" not in cell  # unchanged fields stay out


def test_a_creation_lists_the_values_set(client, owner, premium):
    client.force_login(owner)
    html = client.get("/audit-log/?action=create&object_type=mailservice.mailservice").content.decode()
    cell = entry_cell(html, premium.pk)
    assert ">Mail service #" in cell
    assert re.search(r"<dt>Plan</dt>\s*<dd class=\"change-set\">Service Mail Premium</dd>", cell)
    assert re.search(r"<dt>Domain</dt>\s*<dd class=\"change-set\">domain.xyz</dd>", cell)


def test_lists_and_rules_read_as_words_not_python(client, owner, alice, member):
    grant(owner, alice, member, ["read", "send"])
    services.rule_create(actor=owner, address=alice, name="News",
                         conditions=[{"field": "subject", "operator": "contains", "value": "news"}],
                         actions=[{"kind": "move", "argument": "News"}])
    client.force_login(owner)
    html = client.get("/audit-log/").content.decode()
    table = re.search(r'<table class="audit-log stack">.*?</table>', html, re.S).group(0)
    assert "<dt>Permissions</dt>" in table and ">read, send</dd>" in table
    assert "field: subject, operator: contains, value: news" in table
    for repr_mark in ("[&#x27;", "{&#x27;", "['", "{'", "True", "False", "None"):
        assert repr_mark not in table, repr_mark


def test_the_history_is_in_the_users_language(client, owner, alice):
    services.address_update(actor=owner, address=alice, enabled=False)
    client.force_login(owner)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    html = client.get("/audit-log/?action=update&object_type=mailservice.address").content.decode()
    cell = entry_cell(html, alice.pk)
    assert ">Adresse #" in cell
    assert re.search(r"<dt>Activée</dt>\s*<dd class=\"change-changed\"><del>Oui</del>.*?<ins>Non</ins>",
                     cell, re.S)
    entry = AuditEntry.objects.filter(action="update", object_type="mailservice.address").first()
    assert entry.time.strftime("%d/%m/%Y") in cell  # the French date format
    html = client.get("/audit-log/?object_type=mailservice.mailservice").content.decode()
    assert ">Service mail #" in html
