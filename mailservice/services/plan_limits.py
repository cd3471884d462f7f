"""The room a mail service's plan leaves for addresses: how many it may have, and the
storage their quotas share. Checked by the creation of one address and by the bulk import
(for the whole file at once), and when a quota is raised. The caller holds the service row
locked, so two concurrent writes cannot both pass."""
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from manager.core.errors import ServiceError

from ..models import Address, MailService


def address_room(service: MailService) -> tuple[int, int]:
    """How many addresses the service has and the MB their quotas add up to (one query)."""
    facts = Address.objects.filter(mail_service=service).aggregate(
        count=Count("pk"), allocated=Sum("quota_mb"))
    return facts["count"], facts["allocated"] or 0


def check_room(service: MailService, *, count: int, allocated: int, new_count: int,
               new_quota_mb: int, whole_file: bool = False) -> None:
    """`new_count` more addresses with `new_quota_mb` MB between them fit the plan: its
    address limit (403 `plan_limit_reached`) and its storage (400 on quota_mb). `count` and
    `allocated`: what the service has now (`address_room`, read under the service's lock)."""
    if count + new_count > service.address_limit:
        values = {"plan": service.plan_info.name, "limit": service.address_limit,
                  "domain": service.domain, "count": count, "new": new_count}
        if whole_file:
            message = _("The file adds %(new)d addresses to %(domain)s, which has %(count)d; "
                        "the %(plan)s plan allows %(limit)d.") % values
        else:
            message = _("The %(plan)s plan allows %(limit)d address(es) on %(domain)s; the "
                        "limit is reached.") % values
        raise ServiceError(message, code="plan_limit_reached", status=403)
    limit = service.storage_limit_mb
    if limit is not None and allocated + new_quota_mb > limit:
        free = max(0, limit - allocated)
        values = {"plan": service.plan_info.name, "domain": service.domain, "limit": limit,
                  "allocated": allocated, "free": free, "new": new_quota_mb}
        if whole_file:
            message = _("The quotas of the file add up to %(new)d MB; the %(plan)s plan gives "
                        "%(domain)s %(limit)d MB of storage and its addresses have %(allocated)d "
                        "MB of it, so %(free)d MB are left.") % values
            field = message
        else:
            message = _("The %(plan)s plan gives %(domain)s %(limit)d MB of storage; its other "
                        "addresses have %(allocated)d MB of it, so this address can have at "
                        "most %(free)d MB.") % values
            field = _("At most %(free)d MB on this plan.") % values
        raise ServiceError(message, code="plan_limit_reached", fields={"quota_mb": [field]})


def check_storage(service: MailService, quota_mb: int, *, address: Address) -> None:
    """A changed quota keeps the addresses' quotas within the plan's storage (400
    `plan_limit_reached` on quota_mb). Lowering a quota is always allowed, so a service
    over its storage (e.g. after a plan change) can get back under it. The caller holds
    the service row locked."""
    if service.storage_limit_mb is None or quota_mb <= _saved_quota(address):
        return
    facts = Address.objects.filter(mail_service=service).exclude(pk=address.pk).aggregate(
        allocated=Sum("quota_mb"))
    check_room(service, count=0, allocated=facts["allocated"] or 0, new_count=0,
               new_quota_mb=quota_mb)


def _saved_quota(address: Address) -> int:
    return Address.objects.filter(pk=address.pk).values_list("quota_mb", flat=True).first() or 0
