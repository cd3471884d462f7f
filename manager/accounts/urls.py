from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

url_prefix = "accounts/"  # where manager/urls.py mounts these pages
app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.SignUpView.as_view(), name="signup"),
    path("invitations/<str:token>/", views.OrganisationInvitationView.as_view(), name="invitation"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html"), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html",
        success_url=reverse_lazy("accounts:password_reset_complete")),
        name="password_reset_confirm"),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"), name="password_reset_complete"),
    path("organisations/switch/", views.SwitchOrganisationView.as_view(), name="switch"),
    path("organisations/new/", views.OrganisationCreateView.as_view(), name="organisation_new"),
    path("organisations/<int:pk>/", views.OrganisationDetailView.as_view(), name="organisation"),
    path("tokens/", views.ApiTokenListView.as_view(), name="tokens"),
]
