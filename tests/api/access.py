"""One shared check of every API resource's access rules (NetBox's APIViewTestCases, short):
anonymous → 401, another organisation → 404, and the organisation's `member` (a person who
uses addresses, with no grant on this object): 404 for what they cannot see, 403 for what
they see but may not do (`member_sees`)."""
from rest_framework.test import APIClient


def assert_access_rules(*, api, member, outsider, list_url=None, detail_url=None,
                        write=None, write_payload=None, member_sees=False,
                        forbidden_code="permission_denied"):
    """`write` is (method, url) of a write that the member may not do; the outsider gets
    404 for the same url (it belongs to another organisation)."""
    anonymous = APIClient()
    for url in filter(None, (list_url, detail_url)):
        response = anonymous.get(url)
        assert response.status_code == 401, (url, response.content)
        assert response.json()["error"]["code"] == "not_authenticated"
    if detail_url:
        response = api(outsider).get(detail_url)
        assert response.status_code == 404, (detail_url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    if detail_url and not member_sees:
        response = api(member).get(detail_url)
        assert response.status_code == 404, (detail_url, response.content)
    if write:
        method, url = write
        response = getattr(api(member), method)(url, write_payload or {}, format="json")
        if member_sees:
            assert response.status_code == 403, (url, response.content)
            assert response.json()["error"]["code"] == forbidden_code
        else:
            assert response.status_code == 404, (url, response.content)
        response = getattr(api(outsider), method)(url, write_payload or {}, format="json")
        assert response.status_code == 404, (url, response.content)
        response = getattr(anonymous, method)(url, write_payload or {}, format="json")
        assert response.status_code == 401, (url, response.content)
