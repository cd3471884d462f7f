"""What the mail stack stamps travels with the service's desired state: activating a
template, completing a signature or switching stamping pushes the service, and the pushed
state carries each sending address's signature (none for a disabled address)."""
import pytest

from mailservice import services as mail_services
from mailservice.desired import desired_state
from manager.core.models import PushJob
from signatures import services
from signatures.models import Signature
from tests.factories import grant

from .conftest import make_template

pytestmark = pytest.mark.django_db
FIELDS = [{"key": "first_name", "source": "auto"}, {"key": "department", "source": "user"}]


def pushes(service):
    return PushJob.objects.filter(kind="mail_service", target_id=service.domain).count()


def activate(owner, template, addresses):
    job = services.job_start(actor=owner, template=template, kind="activate",
                             addresses=addresses)
    assert services.job_run(job.pk).state == "done"


def test_each_change_of_what_is_stamped_pushes_the_service(owner, premium, alice):
    grant(owner, alice, owner, ["read", "send", "manage_signature"])
    template = make_template(owner, premium, fields=FIELDS)
    PushJob.objects.all().delete()
    activate(owner, template, [alice])
    assert pushes(premium) == 1
    stamp, = desired_state(premium).stamps
    assert stamp.email == "alice@domain.xyz" and stamp.enabled and not stamp.on_replies

    PushJob.objects.all().delete()
    signature = Signature.objects.get(address=alice, user=owner)
    services.signature_update(actor=owner, signature=signature, values={"department": "Lab"})
    assert pushes(premium) == 1
    assert "Lab" in desired_state(premium).stamps[0].text

    PushJob.objects.all().delete()
    services.stamping_update(actor=owner, address=alice, stamping=False, on_replies=True)
    assert pushes(premium) == 1
    stamp, = desired_state(premium).stamps
    assert not stamp.enabled and stamp.on_replies
    PushJob.objects.all().delete()
    services.stamping_update(actor=owner, address=alice, stamping=False)  # no change
    assert pushes(premium) == 0


def test_creating_signatures_of_a_template_not_active_pushes_nothing(owner, premium, alice):
    grant(owner, alice, owner, ["read"])
    template = make_template(owner, premium, fields=FIELDS)
    PushJob.objects.all().delete()
    job = services.job_start(actor=owner, template=template, kind="create_signatures")
    assert services.job_run(job.pk).state == "done"
    assert pushes(premium) == 0 and desired_state(premium).stamps == ()


def test_a_disabled_address_stamps_nothing(owner, premium, alice):
    grant(owner, alice, owner, ["read", "send"])
    activate(owner, make_template(owner, premium, fields=FIELDS), [alice])
    mail_services.address_update(actor=owner, address=alice, enabled=False)
    assert desired_state(premium).stamps == ()


def test_the_stamps_cost_three_queries_whatever_the_number_of_addresses(
        owner, premium, django_assert_max_num_queries):
    from tests.factories import make_address

    premium.capacity = 100
    premium.save()
    addresses = [make_address(owner, premium, f"u{i}") for i in range(30)]
    for address in addresses:
        grant(owner, address, owner, ["read", "send"])
    activate(owner, make_template(owner, premium, fields=FIELDS), addresses)
    # The desired state's 9 queries (test_desired_state.py) and the users and signatures
    # of the addresses with a template.
    with django_assert_max_num_queries(11):
        state = desired_state(premium)
    assert len(state.stamps) == 30


def test_deleting_an_active_template_pushes_the_service_and_stamps_nothing(owner, premium, alice):
    grant(owner, alice, owner, ["read", "send"])
    template = make_template(owner, premium, fields=FIELDS)
    activate(owner, template, [alice])
    PushJob.objects.all().delete()
    services.template_delete(actor=owner, template=template)
    assert pushes(premium) == 1 and desired_state(premium).stamps == ()
    unused = make_template(owner, premium, name="Unused", fields=FIELDS)
    PushJob.objects.all().delete()
    services.template_delete(actor=owner, template=unused)
    assert pushes(premium) == 0
