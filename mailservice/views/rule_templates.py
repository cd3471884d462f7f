"""Rule templates of a mail service: save an address's rules as a template, apply it to
every address, delete it."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manager.accounts.roles import CHANGE
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.views import RestrictedView, done

from .. import services
from ..models import Address, MailService, RuleTemplate


class RuleTemplateListView(RestrictedView):
    model = MailService
    template = "mailservice/ruletemplate_list.html"

    def context(self, service, **extra):
        return {
            "service": service,
            "templates": RuleTemplate.objects.filter(mail_service=service),
            "addresses": Address.objects.filter(mail_service=service).order_by("local_part"),
            "can_change": may(self.request.user, CHANGE, organisation_id=service.organisation_id),
            **extra,
        }

    def get(self, request, pk):
        service = self.get_restricted(pk=pk)
        return render(request, self.template, self.context(service))

    def post(self, request, pk):
        service = self.get_restricted(pk=pk)
        operation = request.POST.get("operation")
        try:
            if operation == "create":
                source = get_object_or_404(Address, mail_service=service, pk=request.POST.get("address"))
                services.template_create(
                    actor=request.user, service=service, name=request.POST.get("name", ""),
                    from_address=source, for_new_addresses=bool(request.POST.get("for_new_addresses")))
                messages.success(request, _("Template saved."))
            elif operation in ("apply", "delete", "for_new_addresses"):
                template = get_object_or_404(RuleTemplate, mail_service=service,
                                             pk=request.POST.get("template"))
                if operation == "apply":
                    result = services.template_apply(actor=request.user, template=template)
                    count = len(result.applied)
                    messages.success(request, ngettext(
                        "The template's rules now apply to %(n)d address.",
                        "The template's rules now apply to %(n)d addresses.", count) % {"n": count})
                    if result.skipped:
                        messages.warning(request, _(
                            "Left alone, in advanced mode (they run their own Sieve script): "
                            "%(addresses)s.") % {"addresses": ", ".join(a.email for a, _r in result.skipped)})
                elif operation == "for_new_addresses":
                    template = services.template_update(
                        actor=request.user, template=template,
                        for_new_addresses=not template.for_new_addresses)
                    messages.success(request, _("New addresses will start with these rules.")
                                     if template.for_new_addresses
                                     else _("New addresses will no longer get these rules."))
                else:
                    services.template_delete(actor=request.user, template=template)
                    messages.success(request, _("Template deleted."))
            else:
                messages.error(request, _("Unknown operation."))
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, self.template, self.context(service), status=exc.status)
        return done(request, reverse("mailservice:rule_templates", args=[service.pk]))


urlpatterns = [
    path("mail/services/<int:pk>/rule-templates/", RuleTemplateListView.as_view(), name="rule_templates"),
]
