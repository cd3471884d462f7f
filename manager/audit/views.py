"""The audit log page: filterable, for roles allowed to view it; each entry reads as a
history (history.py)."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404
from django.views import View

from manager.accounts.roles import VIEW_AUDIT
from manager.core.querysets import user_organisation_ids
from manager.core.views import htmx_render

from .filters import AuditEntryFilter
from .history import entry_rows, object_label
from .models import AuditEntry


class AuditLogView(LoginRequiredMixin, View):
    def get(self, request):
        if not user_organisation_ids(request.user, VIEW_AUDIT):
            raise Http404  # e.g. a person who only uses addresses: not theirs to see
        queryset = AuditEntry.objects.restrict(request.user, VIEW_AUDIT).select_related("organisation")
        filterset = AuditEntryFilter(request.GET, queryset=queryset, request=request)
        page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
        for entry in page:  # in words, in the user's language (history.py)
            entry.object_label = object_label(entry.object_type)
            entry.change_rows = entry_rows(entry)
        return htmx_render(request, "audit/auditentry_list.html",
                           {"filter": filterset, "page": page}, partial="audit/_auditentry_table.html")
