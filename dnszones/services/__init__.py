"""Writes on domains, records and zones: each validates, checks the role, audits and leaves
the zone's push job in the same transaction."""
from .domains import (  # noqa: F401
    domain_create,
    domain_delete,
    domain_for_mail_service,
    domain_sync,
    domain_update,
)
from .records import record_create, record_delete, record_update  # noqa: F401
from .synonyms import synonym_add, synonym_remove  # noqa: F401
from .zone_files import ZoneImport, zone_import  # noqa: F401
