"""Domains & DNS pages, one module per area: the domain list and page, records (inline add
and edit through htmx), zone-file import with a preview and export, the push status, the
external check, the SPF doctor and the security check."""
from django.urls import path

from .domains import DomainDetailView, DomainListView, ExternalCheckView, ZoneStatusView
from .records import RecordDeleteView, RecordEditView, RecordRowView, RecordsView
from .security import SecurityCheckView
from .spf import SpfView
from .zone_files import ZoneExportView, ZoneImportView

urlpatterns = [
    path("", DomainListView.as_view(), name="index"),
    path("domains/<int:pk>/", DomainDetailView.as_view(), name="domain_detail"),
    path("domains/<int:pk>/records/", RecordsView.as_view(), name="records"),
    path("domains/<int:pk>/records/<int:record_pk>/", RecordRowView.as_view(), name="record_row"),
    path("domains/<int:pk>/records/<int:record_pk>/edit/", RecordEditView.as_view(), name="record_edit"),
    path("domains/<int:pk>/records/<int:record_pk>/delete/", RecordDeleteView.as_view(),
         name="record_delete"),
    path("domains/<int:pk>/zone-file/", ZoneExportView.as_view(), name="zone_export"),
    path("domains/<int:pk>/zone-file/import/", ZoneImportView.as_view(), name="zone_import"),
    path("domains/<int:pk>/status/", ZoneStatusView.as_view(), name="zone_status"),
    path("domains/<int:pk>/check/", ExternalCheckView.as_view(), name="external_check"),
    path("domains/<int:pk>/spf/", SpfView.as_view(), name="spf"),
    path("domains/<int:pk>/security-check/", SecurityCheckView.as_view(), name="security_check"),
]
