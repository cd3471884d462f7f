"""Mail API resources (SPEC §9); `register()` mounts them on the v1 router."""


def register(router):
    from . import access, addresses, clientsetup, folders, rules, services

    for module in (services, addresses, access, rules, folders, clientsetup):
        module.register(router)
