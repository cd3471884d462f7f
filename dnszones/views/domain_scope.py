"""What every domain page shares: the zone's push status and the domain behind the gate."""
from django.utils.translation import gettext as _

from manager.accounts.roles import CHANGE, VIEW
from manager.core.permissions import may
from manager.core.views import (
    SyncState,
    sync_state,
)

from .. import selectors
from ..models import Domain


def zone_status(user, domain, job=None) -> SyncState:
    """The zone's push status as a page shows it; the server's error is for managers only."""
    if job is None:
        job = selectors.sync_jobs([domain.name]).get(domain.name)
    state = sync_state(job)
    if job is None and not domain.uses_our_dns:
        state = SyncState("applied", _("Not served by us"))
    if not may(user, CHANGE, organisation_id=domain.organisation_id):
        state = SyncState(state.status, state.label, "", state.applied_at)
    return state


class DomainMixin:
    def get_domain(self, pk, action=VIEW) -> Domain:
        domain = selectors.domain_for(self.request.user, pk)
        if action != VIEW:
            self.require(action, domain)
        return domain
