"""Mail API resources (SPEC §9); `register()` mounts them on the v1 router."""


def register(router):
    from . import access, addresses, clientsetup, services

    services.register(router)
    addresses.register(router)
    access.register(router)
    # Further resource modules register themselves here, one line each:
    from .rules import register as register_rules; register_rules(router)  # noqa: E702, I001
    clientsetup.register(router)
