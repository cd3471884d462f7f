"""Folders are listed from and created in the real mailbox."""
import json

import pytest

from mailservice import push, services
from mailservice.desired import desired_state
from tests.api.schema_check import check

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_folders_are_created_and_listed_through_the_backend(mail_stack, api, owner, organisation, settings,
                                                            tmp_path, schema):
    config = tmp_path / "stack.json"
    config.write_text(json.dumps(mail_stack.to_json()))
    settings.MAIL_BACKEND_CONFIG = str(config)
    push.forget_hosts()
    try:
        service = services.mail_service_create(actor=owner, organisation=organisation,
                                               domain="folders.test", plan="premium")
        alice = services.address_create(actor=owner, service=service, local_part="alice")
        mail_stack.backend().apply(desired_state(service))
        client = api(owner)
        url = f"/api/v1/addresses/{alice.pk}/folders/"
        response = client.post(url, {"name": "INBOX/Mail List/SL-Devel v1.2"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json() == {"name": "Mail List/SL-Devel v1.2"}
        path = "/api/v1/addresses/{address_pk}/folders/"
        check(schema, "post", path, response)
        listed = client.get(url)
        check(schema, "get", path, listed)
        folders = listed.json()["folders"]
        assert {"INBOX", "Mail List", "Mail List/SL-Devel v1.2"} <= set(folders)
        assert "Mail List/SL-Devel v1.2" in mail_stack.backend().list_folders("alice@folders.test")
    finally:
        mail_stack.backend().remove_service("folders.test")
        push.forget_hosts()
