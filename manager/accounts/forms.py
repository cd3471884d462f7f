"""Forms of the accounts pages; they parse input, services decide."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from manager.security import services as bans

from . import auth_limits
from .roles import Role


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label=_("E-mail address"),
                                widget=forms.EmailInput(attrs={"autofocus": True,
                                                               "autocomplete": "email"}))

    def clean(self):
        """Failures count per account and per IP; past the limit, no password is checked
        until the window ends (auth_limits)."""
        email = self.cleaned_data.get("username") or ""
        ip = auth_limits.client_ip(self.request) if self.request else None
        if auth_limits.refused("login", account=email, ip=ip) or (
                ip and bans.active_ban(ip, email) is not None):
            raise forms.ValidationError(auth_limits.wait_message(), code="rate_limited")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            auth_limits.count("login", account=email, ip=ip)
            if ip:
                bans.record_failure(ip, email, protocol="web")
            raise
        auth_limits.forget("login", account=email)
        if ip:
            bans.forget_failures(ip, email)
        return cleaned


class LimitedPasswordResetForm(PasswordResetForm):
    """Reset e-mails are limited per address and per IP: the form must not send mail
    to someone in a loop, nor let a client probe many addresses."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_email(self):
        email = self.cleaned_data["email"]
        ip = auth_limits.client_ip(self.request) if self.request else None
        if auth_limits.refused("password_reset", account=email, ip=ip):
            raise forms.ValidationError(auth_limits.wait_message(), code="rate_limited")
        auth_limits.count("password_reset", account=email, ip=ip)
        return email


class SignUpForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail address"),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("At least 10 characters."))
    organisation_name = forms.CharField(label=_("Organisation name"), max_length=120,
                                        required=False)


class InviteeSignUpForm(forms.Form):
    """The account of an invited person: the login is the invited e-mail (shown, not asked),
    and no organisation is created."""

    full_name = forms.CharField(label=_("Full name"), max_length=150,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("At least 10 characters."))


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"),
                             help_text=_("They receive a link that only this e-mail address can "
                                         "accept, with an account they have or create."))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
