"""Pages: sign-up, organisation switcher and settings, members, API tokens."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from manager.core.errors import ServiceError
from manager.core.querysets import user_role
from manager.core.views import RestrictedView, done

from . import services
from .forms import ApiTokenForm, MemberAddForm, MemberRoleForm, OrganisationForm, SignUpForm
from .models import ApiToken, Membership, Organisation
from .roles import MANAGE_MEMBERS, MANAGE_ORGANISATION, role_allows


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
            "add_form": MemberAddForm(),
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
            elif operation == "add_member":
                self.require(MANAGE_MEMBERS, organisation_id=organisation.pk)
                form = MemberAddForm(request.POST)
                if not form.is_valid():
                    return render(request, self.template,
                                  self.context(organisation, add_form=form), status=400)
                services.member_add(actor=request.user, organisation=organisation,
                                    **form.cleaned_data)
                messages.success(request, _("Member added."))
            elif operation in ("change_role", "remove_member"):
                membership = get_object_or_404(Membership, organisation=organisation,
                                               pk=request.POST.get("membership"))
                if operation == "change_role":
                    form = MemberRoleForm(request.POST)
                    if form.is_valid():
                        services.member_change_role(actor=request.user, membership=membership,
                                                    role=form.cleaned_data["role"])
                        messages.success(request, _("Role changed."))
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
