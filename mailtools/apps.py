from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailtoolsConfig(AppConfig):
    name = "mailtools"
    verbose_name = _("Mail tools")
