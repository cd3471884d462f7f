"""Mail pages under /mail/, plus the public well-known client-setup and invitation URLs."""

from .views import access, addresses, clientsetup, policy, rule_templates, rules, services

app_name = "mailservice"

urlpatterns = [
    *services.urlpatterns,
    *addresses.urlpatterns,
    *rules.urlpatterns,
    *rule_templates.urlpatterns,
    *access.urlpatterns,
    *clientsetup.urlpatterns,
    *policy.urlpatterns,
]
