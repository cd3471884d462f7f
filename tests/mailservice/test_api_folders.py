"""`addresses/{id}/folders/`: gates and errors (the backend itself is in tests/e2e)."""
import pytest

from mailservice import services
from tests.api.access import assert_access_rules

pytestmark = pytest.mark.django_db


def test_access_rules(api, alice, member, outsider, other_organisation):
    assert_access_rules(api=api, member=member, outsider=outsider,
                        list_url=f"/api/v1/addresses/{alice.pk}/folders/",
                        write=("post", f"/api/v1/addresses/{alice.pk}/folders/"),
                        write_payload={"name": "Projects"})


def test_invalid_folder_name_is_refused(api, owner, alice):
    response = api(owner).post(f"/api/v1/addresses/{alice.pk}/folders/", {"name": "a//b"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_folder"


def test_unreachable_backend_is_a_422(api, owner, alice, settings):
    from mailservice import push

    settings.MAIL_BACKEND_CONFIG = ""
    push.forget_hosts()
    response = api(owner).get(f"/api/v1/addresses/{alice.pk}/folders/")
    assert response.status_code == 422 and response.json()["error"]["code"] == "backend_unavailable"


def test_user_with_read_may_list_but_not_create(api, owner, alice, member, settings):
    from mailservice import push

    settings.MAIL_BACKEND_CONFIG = ""
    push.forget_hosts()
    services.access_grant(actor=owner, address=alice, user=member, permissions=["read"])
    assert api(member).get(f"/api/v1/addresses/{alice.pk}/folders/").status_code == 422  # allowed, no backend
    assert api(member).post(f"/api/v1/addresses/{alice.pk}/folders/", {"name": "X"},
                            format="json").status_code == 403
