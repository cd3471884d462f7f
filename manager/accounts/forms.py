"""Forms of the accounts pages; they parse input, services decide."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .roles import Role


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label=_("E-mail address"),
                                widget=forms.EmailInput(attrs={"autofocus": True,
                                                               "autocomplete": "email"}))


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
