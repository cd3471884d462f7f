"""Mail pages under /mail/, plus the public well-known client-setup and invitation URLs."""

from .views import (
    access,
    addresses,
    clientsetup,
    delivery_log,
    dns_records,
    invitations,
    mail_services,
    my_mail,
    policy,
    rule_templates,
    rules,
)

url_prefix = ""  # paths are written in full: /mail/…, /invitations/…, /.well-known/…
app_name = "mailservice"

urlpatterns = [
    *my_mail.urlpatterns,
    *mail_services.urlpatterns,
    *addresses.urlpatterns,
    *rules.urlpatterns,
    *rule_templates.urlpatterns,
    *access.urlpatterns,
    *invitations.urlpatterns,
    *clientsetup.urlpatterns,
    *policy.urlpatterns,
    *delivery_log.urlpatterns,
    *dns_records.urlpatterns,
]
