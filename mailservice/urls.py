"""Mail pages under /mail/, plus the public well-known client-setup and invitation URLs."""

from .views import access, addresses, clientsetup, services

app_name = "mailservice"

urlpatterns = [
    *services.urlpatterns,
    *addresses.urlpatterns,
    # Further page modules add their patterns here, one line each:
    *__import__("mailservice.views.rules", fromlist=["urlpatterns"]).urlpatterns,
    *access.urlpatterns,
    *clientsetup.urlpatterns,
]
