"""Mail API resources (SPEC §9); `register()` mounts them on the v1 router."""


def register(router):
    from . import access, addresses, clientsetup, rules, services

    for module in (services, addresses, access, rules, clientsetup):
        module.register(router)
