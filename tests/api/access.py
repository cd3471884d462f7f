"""One shared check of every API resource's access rules (NetBox's APIViewTestCases, short):
anonymous → 401, a member without the right → 403, another organisation → 404."""
from rest_framework.test import APIClient


def assert_access_rules(*, api, member, outsider, list_url=None, detail_url=None,
                        write=None, write_payload=None,
                        forbidden_code="permission_denied"):
    """`write` is (method, url) of a write that the member's role forbids; the outsider
    gets 404 for the same url (it belongs to another organisation)."""
    anonymous = APIClient()
    for url in filter(None, (list_url, detail_url)):
        response = anonymous.get(url)
        assert response.status_code == 401, (url, response.content)
        assert response.json()["error"]["code"] == "not_authenticated"
    if detail_url:
        response = api(outsider).get(detail_url)
        assert response.status_code == 404, (detail_url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    if write:
        method, url = write
        response = getattr(api(member), method)(url, write_payload or {}, format="json")
        assert response.status_code == 403, (url, response.content)
        assert response.json()["error"]["code"] == forbidden_code
        response = getattr(api(outsider), method)(url, write_payload or {}, format="json")
        assert response.status_code == 404, (url, response.content)
        response = getattr(anonymous, method)(url, write_payload or {}, format="json")
        assert response.status_code == 401, (url, response.content)
