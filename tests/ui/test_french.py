"""The French interface: the catalogue is complete and compiled, and the mail pages render in
French once the language is switched."""
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "fr" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


# --- The catalogue ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def po():
    return polib.pofile(str(PO_PATH))


def test_every_entry_is_translated(po):
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


def test_translations_keep_placeholders_and_whitespace(po):
    def same(msgid, msgstr):
        edges = (msgid[:len(msgid) - len(msgid.lstrip())], msgid[len(msgid.rstrip()):])
        return (set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(msgstr))
                and edges == (msgstr[:len(msgstr) - len(msgstr.lstrip())],
                              msgstr[len(msgstr.rstrip()):]))

    bad = []
    for entry in po.translated_entries():
        if entry.msgid_plural:
            if not (same(entry.msgid, entry.msgstr_plural[0])
                    and same(entry.msgid_plural, entry.msgstr_plural[1])):
                bad.append(entry.msgid)
        elif not same(entry.msgid, entry.msgstr):
            bad.append(entry.msgid)
    assert bad == []


def test_compiled_catalogue_matches_the_po(po):
    """The committed .mo is the compiled .po (recompile with polib after every edit)."""
    mo = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(MO_PATH))}
    stale = [e.msgid for e in po.translated_entries()
             if mo.get((e.msgctxt, e.msgid)) != (e.msgstr, e.msgstr_plural)]
    assert stale == []


# --- The pages -------------------------------------------------------------------------

@pytest.fixture
def french(client, owner, organisation):
    client.force_login(owner)
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    return client


def url(name, *args):
    try:
        return reverse(f"mailservice:{name}", args=args)
    except NoReverseMatch:
        return None


def page_cases(service, address):
    """(URL name, args, French strings that must appear, English sources that must not)."""
    return [
        ("service_list", (), ["Nouveau service mail", "Toutes les adresses", "Test de connexion"],
         ["New mail service", "Connectivity check", "Addresses used / limit"]),
        ("service_detail", (service.pk,), ["Changer d’offre", "Ce que comprend chaque offre",
                                           "Supprimer ce service mail"],
         ["Change plan", "What each plan includes", "Delete this mail service"]),
        ("address_list", (), ["Nouvelle adresse", "Activer la sélection", "Tout sélectionner"],
         ["New address", "Enable selected", "Select all"]),
        ("address_detail", (address.pk,), ["Répondeur automatique", "Mots de passe d’appareil",
                                           "Ajouter une redirection", "Règles de tri"],
         ["Auto-reply", "Device passwords", "Add redirection", "Sorting rules"]),
        ("address_users", (address.pk,), ["Utilisateurs de alice@domain.xyz",
                                          "Inviter une nouvelle personne", "Créer l’invitation"],
         ["Users of", "Invite a new person", "Create the invitation"]),
        ("address_devices", (address.pk,), ["Mots de passe d’appareil de alice@domain.xyz",
                                            "Générer le mot de passe", "Type d’appareil"],
         ["Device passwords of", "Generate the password", "Device type"]),
        ("client_setup", (address.pk,),
         ["Configurer alice@domain.xyz dans une application de messagerie", "Nom d’utilisateur",
          "mot de passe d’appareil"],
         ["in a mail application", "Username", "Configure in one step"]),
        ("rule_list", (address.pk,), ["Règles de tri · alice@domain.xyz", "Ajouter une règle",
                                      "Tester les règles"],
         ["Sorting rules ·", "Add a rule", "Test the rules"]),
        ("rule_new", (address.pk,), ["Nouvelle règle", "Appliquer si", "Déplacer vers le dossier"],
         ["New rule", "Apply when", "Move to folder"]),
        ("rule_templates", (service.pk,), ["Modèles de règles", "Enregistrer comme modèle"],
         ["Rule templates", "Save as template"]),
        ("connectivity", (), ["Tester la connexion"], ["Test the connection"]),
    ]


@pytest.mark.django_db
def test_mail_pages_render_in_french(french, premium, alice):
    checked = []
    for name, args, present, absent in page_cases(premium, alice):
        path = url(name, *args)
        if path is None:  # the page does not exist in this version
            continue
        response = french.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert '<html lang="fr">' in body, path
        for text in present:
            assert text in body, (path, text)
        for text in absent:
            assert text not in body, (path, text)
        checked.append(name)
    assert {"service_list", "address_list", "address_detail", "address_users",
            "address_devices", "client_setup"} <= set(checked)


@pytest.mark.django_db
def test_flash_messages_and_plurals_are_translated(french, premium, alice):
    detail = reverse("mailservice:address_detail", args=[alice.pk])
    body = french.post(detail, {"operation": "redirection_add", "target": "bob@example.net",
                                "keep_copy": "on"}, follow=True).content.decode()
    assert "Redirection ajoutée." in body and "Redirection added." not in body
    assert "bob@example.net" in body and "Ne plus rediriger vers bob@example.net ?" in body
    listing = french.get(reverse("mailservice:address_list")).content.decode()
    assert "(1 adresse)" in listing and "(1 address)" not in listing


@pytest.mark.django_db
def test_english_stays_the_default(client, owner, organisation, alice):
    client.force_login(owner)
    body = client.get(reverse("mailservice:address_detail", args=[alice.pk])).content.decode()
    assert '<html lang="en">' in body
    assert "Auto-reply" in body and "Répondeur automatique" not in body
