"""Resources under `domains/{id}/`: the domain is found through the gate first."""
from manager.core.api import ParentScopedMixin

from .. import selectors


class DomainScopedMixin(ParentScopedMixin):
    """For resources under `domains/{id}/`: the domain goes through the gate first (another
    organisation's domain is a 404) before the body is read."""

    parent_kwarg = "domain_pk"

    def parent(self):
        return self.domain()

    def domain(self):
        if not hasattr(self, "_domain"):
            self._domain = selectors.domain_for(self.request.user, self.kwargs["domain_pk"])
        return self._domain
