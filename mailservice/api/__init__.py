"""Mail API resources (SPEC §9); `register()` mounts them on the v1 router."""


def register(router):
    from . import access, addresses, bulk, clientsetup, delivery_log, folders, mail_services, rules

    for module in (mail_services, addresses, access, rules, folders, clientsetup, delivery_log,
                   bulk):
        module.register(router)
