"""The request id of an API call travels with the Celery task into the worker, so the
push the worker makes is attributed to the request that caused it."""
import time

import pytest

from manager.core.models import PushAttempt, PushJob

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for_attempt(request_id, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        ids = set(PushAttempt.objects.filter(job__target_id="reqid.pipeline.test", ok=True)
                  .values_list("request_id", flat=True))
        if request_id in ids:
            return
        assert time.monotonic() < deadline, f"no push attempt from {request_id}; saw {ids}"
        time.sleep(0.2)


def test_worker_push_carries_the_api_request_id(pipeline, api, owner, organisation, mail_stack):
    client = api(owner)
    response = client.post("/api/v1/mail-services/", {"organisation": organisation.pk,
                                                      "domain": "reqid.pipeline.test", "plan": "premium"},
                           format="json", HTTP_X_REQUEST_ID="reqid-create-0001")
    assert response.status_code == 201, response.content
    service_id = response.json()["id"]
    # Let the creation's push finish first: changes made during a push are coalesced
    # into one follow-up push, which the worker then sends under the running task's id.
    wait_for_attempt("reqid-create-0001")
    response = client.post(f"/api/v1/mail-services/{service_id}/sync/",
                           HTTP_X_REQUEST_ID="reqid-sync-00002")
    assert response.status_code == 202
    wait_for_attempt("reqid-sync-00002")
    # the attempt was recorded by the worker process, not by this one
    assert PushJob.objects.get(target_id="reqid.pipeline.test").sync_status == "applied"
    mail_stack.backend().remove_service("reqid.pipeline.test")
