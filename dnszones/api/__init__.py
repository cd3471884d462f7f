"""Domains & DNS API resources, one module per area; `register()` mounts them on the v1
router."""


def register(router):
    from .domains import DomainViewSet
    from .records import RecordViewSet
    from .synonyms import SynonymViewSet

    router.register("domains", DomainViewSet, basename="domain")
    router.register(r"domains/(?P<domain_pk>\d+)/records", RecordViewSet, basename="dns-record")
    router.register(r"domains/(?P<domain_pk>\d+)/synonyms", SynonymViewSet, basename="dns-synonym")
