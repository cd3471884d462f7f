"""The advanced-mode page shows the linter's warnings next to the script, by line: after a
save, on a refused script (as typed), and in French."""
import re
from html import unescape
from pathlib import Path

import pytest

from mailservice import services

GUIDE_2 = (Path(__file__).resolve().parent.parent / "sieve" / "guide_example_2.sieve").read_text()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sieve_test")]


def url(address):
    return f"/mail/addresses/{address.pk}/rules/advanced/"


def shown_warnings(html: str) -> list[tuple[str, str, str]]:
    """(code, line, text) of each warning in the page's linter box."""
    box = re.search(r'<div class="card warning script-lint"[^>]*id="script-lint">(.*?)</div>',
                    html, re.S)
    if box is None:
        return []
    items = re.findall(r'<li data-code="([a-z_]+)"(?: data-line="(\d+)")?>(.*?)</li>', box[1], re.S)
    return [(code, line, unescape(re.sub(r"<[^>]+>", "", text))) for code, line, text in items]


def test_after_saving_the_page_shows_the_warning_with_its_line(client, owner, alice):
    client.force_login(owner)
    response = client.post(url(alice), {"operation": "save", "script": GUIDE_2})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    [(code, line, text)] = shown_warnings(html)
    assert (code, line) == ("unset_match_variable", "9")
    assert text.startswith("Line 9: “${1}” is always empty here")
    # Next to the script: the box comes right before the script's form.
    assert html.index('id="script-lint"') < html.index('name="script"')


def test_a_clean_script_and_standard_mode_show_no_warning_box(client, owner, alice):
    client.force_login(owner)
    services.rule_create(actor=owner, address=alice, name="Self",
                         conditions=[{"field": "from", "operator": "exists"}],
                         actions=[{"kind": "forward", "argument": "alice@domain.xyz"}])
    # Standard mode: the page shows the compiled script; its rules are linted on the rule list.
    assert shown_warnings(client.get(url(alice)).content.decode()) == []
    response = client.post(url(alice), {"operation": "save",
                                        "script": 'require "fileinto";\nfileinto "x";\n'})
    assert response.status_code == 302
    html = client.get(url(alice)).content.decode()
    assert 'id="script-lint"' not in html and shown_warnings(html) == []


def test_a_refused_script_is_reviewed_as_typed_next_to_dovecots_error(client, owner, alice):
    client.force_login(owner)
    services.sieve_set(actor=owner, address=alice, mode="advanced", script=GUIDE_2)
    script = 'if header :contains "subject" "x" {\n  fileinto "Later";\n}\n'
    response = client.post(url(alice), {"operation": "save", "script": script})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="sieve-errors"' in html
    assert shown_warnings(html) == [(
        "extension_not_required", "2",
        "Line 2: “fileinto” needs the “fileinto” extension, which the script does not require: "
        "the mail server refuses the script until “fileinto” is added to its “require” line.")]
    # The stored script is untouched, and its own warning is back on the next visit.
    assert [c for c, _, _ in shown_warnings(client.get(url(alice)).content.decode())] == [
        "unset_match_variable"]


def test_the_warnings_read_in_french(client, owner, alice):
    client.force_login(owner)
    assert client.post("/i18n/setlang/", {"language": "fr", "next": "/"}).status_code == 302
    services.sieve_set(actor=owner, address=alice, mode="advanced",
                       script='require ["fileinto", "vacation"];\nstop;\nfileinto "a//b";\n')
    html = client.get(url(alice)).content.decode()
    assert "Vérifier ce script" in html
    assert shown_warnings(html) == [
        ("extension_unused", "1", "Ligne 1 : Le script demande « vacation » mais ne l’utilise "
         "jamais : elle peut être retirée de la ligne « require »."),
        ("action_after_stop", "3", "Ligne 3 : Cette commande et les suivantes du même bloc ne "
         "s’exécutent jamais : « stop » à la ligne 2 termine le script avant elles."),
        ("invalid_folder", "3", "Ligne 3 : « fileinto » désigne le dossier « a//b », que le "
         "serveur mail refuse : Les sous-dossiers sont séparés par un seul « / » et aucun ne "
         "peut être vide."),
    ]
