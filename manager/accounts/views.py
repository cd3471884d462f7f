"""Pages: sign-up, invitation links, organisation switcher and settings, members and
their invitations, API tokens."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views import View

from manager.core.errors import ServiceError
from manager.core.querysets import user_role
from manager.core.views import RestrictedView, add_service_errors, done

from . import auth_limits, services
from .forms import (
    ApiTokenForm,
    InviteeSignUpForm,
    LimitedPasswordResetForm,
    LoginForm,
    MemberInviteForm,
    MemberRoleForm,
    OrganisationForm,
    SignUpForm,
)
from .models import ApiToken, Membership, Organisation, OrganisationInvitation, User
from .roles import MANAGE_MEMBERS, MANAGE_ORGANISATION, Role, role_allows


class RateLimitedFormMixin:
    """A form refused for too many attempts answers 429, not 200."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if any(e.code == "rate_limited" for errors in form.errors.as_data().values() for e in errors):
            response.status_code = 429
        return response


class LoginView(RateLimitedFormMixin, auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordResetView(RateLimitedFormMixin, auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"
    form_class = LimitedPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class SignUpView(View):
    template = "accounts/signup.html"

    def get(self, request):
        return render(request, self.template, {"form": SignUpForm()})

    def post(self, request):
        form = SignUpForm(request.POST)
        if form.is_valid():
            try:
                user = services.user_sign_up(**form.cleaned_data)
            except ServiceError as exc:
                for field, errors in exc.fields.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome! Your organisation is ready."))
                nxt = request.GET.get("next", "")
                return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "home")
        return render(request, self.template, {"form": form}, status=400)


class InvitationLinkView(View):
    """The page behind an invitation link, for every kind of invitation: what it gives and
    who sent it, then the one way on for whoever opens it: accept (the invited account),
    log in (an account with the invited e-mail exists), create that account (name and
    password only), or log out and continue (another account is logged in)."""

    template = None

    # --- what a kind of invitation provides
    def find(self, token):
        raise NotImplementedError

    def offer(self, invitation) -> dict:
        """Template context describing what the invitation gives."""
        return {}

    def accept(self, token, user) -> str:
        """Accept through the service; returns the URL to land on."""
        raise NotImplementedError

    def sign_up(self, token, *, full_name, password) -> tuple[User, str]:
        """Create the invitee's account and accept; returns it and the URL to land on."""
        raise NotImplementedError

    # --- the page
    def problem(self, invitation):
        """(message, HTTP status) when nobody can use the link, else None."""
        if invitation is None:
            return _("This invitation link is not valid. Check that you copied all of it, or "
                     "ask for a new one."), 404
        status = invitation.status
        if status != "pending":
            return {
                "accepted": _("This invitation has already been used. Each link works once."),
                "revoked": _("This invitation was revoked by an administrator."),
                "expired": _("This invitation has expired. Ask the administrator for a new link."),
            }[status], 410
        if not invitation.email:
            return _("This invitation does not name the person it is for; ask the "
                     "administrator for a new one."), 410
        return None

    def page(self, request, invitation, *, problem=None, status=200, form=None):
        usable = problem is None
        user = request.user
        context = {
            "invitation": invitation if usable else None,
            "problem": problem[0] if problem else "",
            "here": request.path,
            "for_me": usable and invitation.is_for(user),
            "another_account": usable and user.is_authenticated and not invitation.is_for(user),
            "account_exists": usable and not user.is_authenticated and User.objects.filter(
                email__iexact=invitation.email).exists(),
            "form": form or InviteeSignUpForm(),
            **(self.offer(invitation) if usable else {}),
        }
        if context["another_account"]:
            status = 403
        return render(request, self.template, context, status=problem[1] if problem else status)

    def find_limited(self, request, token):
        """The invitation, with unknown tokens counted per IP (guessing links is refused
        with 429 past the limit); (invitation, refusal response or None)."""
        ip = auth_limits.client_ip(request)
        if auth_limits.refused("invitation", ip=ip):
            return None, render(request, self.template, {"problem": auth_limits.wait_message(),
                                                         "here": request.path}, status=429)
        invitation = self.find(token)
        if invitation is None:
            auth_limits.count("invitation", ip=ip)
        return invitation, None

    def get(self, request, token):
        invitation, refusal = self.find_limited(request, token)
        if refusal:
            return refusal
        return self.page(request, invitation, problem=self.problem(invitation))

    def post(self, request, token):
        invitation, refusal = self.find_limited(request, token)
        if refusal:
            return refusal
        problem = self.problem(invitation)
        if problem:
            return self.page(request, invitation, problem=problem)
        if request.POST.get("operation") == "sign_up" and not request.user.is_authenticated:
            return self.post_sign_up(request, token, invitation)
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        try:
            url = self.accept(token, request.user)
        except ServiceError as exc:
            if exc.code == "invitation_for_another_account":
                return self.page(request, invitation)
            return self.page(request, invitation, problem=(exc.message, exc.status))
        return done(request, url)

    def post_sign_up(self, request, token, invitation):
        form = InviteeSignUpForm(request.POST)
        if not form.is_valid():
            return self.page(request, invitation, form=form, status=400)
        try:
            user, url = self.sign_up(token, **form.cleaned_data)
        except ServiceError as exc:
            if exc.status in (404, 410):
                return self.page(request, self.find(token), problem=(exc.message, exc.status))
            add_service_errors(form, exc)
            if not exc.fields:
                form.add_error(None, exc.message)
            return self.page(request, invitation, form=form, status=exc.status)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(url)


class OrganisationInvitationView(InvitationLinkView):
    """`accounts/invitations/<token>/`: join an organisation with a role."""

    template = "accounts/invitation_accept.html"

    def find(self, token):
        return services.organisation_invitation_by_token(token)

    def offer(self, invitation):
        return {"organisation": invitation.organisation, "role_label": Role(invitation.role).label}

    def landing(self, membership):
        self.request.session["organisation_id"] = membership.organisation_id
        messages.success(self.request, _("You are now a member of %(name)s.")
                         % {"name": membership.organisation.name})
        return reverse("home")

    def accept(self, token, user):
        return self.landing(services.organisation_invitation_accept(raw_token=token, user=user))

    def sign_up(self, token, *, full_name, password):
        membership = services.organisation_invitation_sign_up(raw_token=token, full_name=full_name,
                                                              password=password)
        return membership.user, self.landing(membership)


class SwitchOrganisationView(LoginRequiredMixin, View):
    def post(self, request):
        organisation = get_object_or_404(Organisation.objects.restrict(request.user, "view"),
                                         pk=request.POST.get("organisation"))
        request.session["organisation_id"] = organisation.pk
        messages.info(request, _("Now working in %(name)s.") % {"name": organisation.name})
        nxt = request.POST.get("next", "")
        return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "home")


class OrganisationCreateView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "accounts/organisation_form.html", {"form": OrganisationForm()})

    def post(self, request):
        form = OrganisationForm(request.POST)
        if form.is_valid():
            organisation = services.organisation_create(actor=request.user,
                                                        name=form.cleaned_data["name"])
            request.session["organisation_id"] = organisation.pk
            messages.success(request, _("Organisation created."))
            return redirect("accounts:organisation", pk=organisation.pk)
        return render(request, "accounts/organisation_form.html", {"form": form}, status=400)


class OrganisationDetailView(RestrictedView):
    model = Organisation
    template = "accounts/organisation_detail.html"

    def context(self, organisation, **extra):
        role = user_role(self.request.user, organisation.pk)
        return {
            "organisation": organisation,
            "members": Membership.objects.filter(organisation=organisation).select_related("user"),
            "can_manage_members": role_allows(role, MANAGE_MEMBERS),
            "can_manage_organisation": role_allows(role, MANAGE_ORGANISATION),
            "invitations": (OrganisationInvitation.objects.filter(organisation=organisation)
                            .select_related("created_by")
                            if role_allows(role, MANAGE_MEMBERS) else []),
            "invite_form": MemberInviteForm(),
            "rename_form": OrganisationForm(initial={"name": organisation.name}),
            "role_form": MemberRoleForm(),
            **extra,
        }

    def get(self, request, pk):
        organisation = self.get_restricted(pk=pk)
        return render(request, self.template, self.context(organisation))

    def post(self, request, pk):
        organisation = self.get_restricted(pk=pk)
        operation = request.POST.get("operation")
        url = reverse("accounts:organisation", args=[organisation.pk])
        try:
            if operation == "rename":
                self.require(MANAGE_ORGANISATION, organisation_id=organisation.pk)
                form = OrganisationForm(request.POST)
                if not form.is_valid():
                    return render(request, self.template,
                                  self.context(organisation, rename_form=form), status=400)
                services.organisation_update(actor=request.user, organisation=organisation,
                                             name=form.cleaned_data["name"])
                messages.success(request, _("Organisation renamed."))
            elif operation == "invite":
                self.require(MANAGE_MEMBERS, organisation_id=organisation.pk)
                form = MemberInviteForm(request.POST)
                if not form.is_valid():
                    return render(request, self.template,
                                  self.context(organisation, invite_form=form), status=400)
                invitation = services.organisation_invitation_create(
                    actor=request.user, organisation=organisation, **form.cleaned_data)
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            elif operation in ("resend_invitation", "revoke_invitation"):
                self.require(MANAGE_MEMBERS, organisation_id=organisation.pk)
                invitation = get_object_or_404(OrganisationInvitation, organisation=organisation,
                                               pk=request.POST.get("invitation"))
                if operation == "resend_invitation":
                    services.organisation_invitation_resend(actor=request.user, invitation=invitation)
                    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
                else:
                    services.organisation_invitation_revoke(actor=request.user, invitation=invitation)
                    messages.success(request, _("Invitation revoked; its link no longer works."))
            elif operation in ("change_role", "remove_member", "disable_member", "enable_member"):
                membership = get_object_or_404(Membership, organisation=organisation,
                                               pk=request.POST.get("membership"))
                if operation == "change_role":
                    form = MemberRoleForm(request.POST)
                    if form.is_valid():
                        services.member_change_role(actor=request.user, membership=membership,
                                                    role=form.cleaned_data["role"])
                        if membership.user_id == request.user.pk:
                            # Their own sessions ended with the role; this one goes on
                            # under a new key (the old cookie is dead).
                            request.session.cycle_key()
                        messages.success(request, _("Role changed."))
                elif operation == "disable_member":
                    services.user_disable(actor=request.user, user=membership.user,
                                          organisation=organisation)
                    messages.success(request, _("%(email)s is disabled: their sessions, API tokens "
                                                "and device passwords no longer work.")
                                     % {"email": membership.user.email})
                elif operation == "enable_member":
                    services.user_enable(actor=request.user, user=membership.user,
                                         organisation=organisation)
                    messages.success(request, _("%(email)s can log in again.")
                                     % {"email": membership.user.email})
                else:
                    services.member_remove(actor=request.user, membership=membership)
                    messages.success(request, _("Member removed."))
                    if membership.user_id == request.user.pk:
                        request.session.pop("organisation_id", None)
                        return done(request, reverse("home"))
            else:
                messages.error(request, _("Unknown operation."))
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, self.template, self.context(organisation),
                          status=exc.status if exc.status != 404 else 400)
        return done(request, url)


class ApiTokenListView(LoginRequiredMixin, View):
    template = "accounts/token_list.html"

    def context(self, **extra):
        return {"tokens": ApiToken.objects.filter(user=self.request.user),
                "form": ApiTokenForm(), **extra}

    def get(self, request):
        return render(request, self.template, self.context())

    def post(self, request):
        if "revoke" in request.POST:
            token = get_object_or_404(ApiToken, user=request.user, pk=request.POST["revoke"])
            services.api_token_revoke(actor=request.user, token=token)
            messages.success(request, _("Token revoked."))
            return redirect("accounts:tokens")
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, self.context(form=form), status=400)
        token, raw = services.api_token_create(actor=request.user, name=form.cleaned_data["name"])
        # The plaintext is rendered in this response only; it is never stored.
        return render(request, self.template, self.context(new_token=raw, new_token_row=token))
