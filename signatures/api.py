"""API: signature templates (`mail-services/{id}/signature-templates/`, with `duplicate`,
`publish`, `create-signatures`, `activate`, `regenerate`, `preview`, `versions`,
`report`), their images (`mail-services/{id}/signature-images/`), the signatures of an
address (`addresses/{id}/signatures/`, with its stamping `settings`), and the progress of
the bulk jobs (`signature-jobs/{id}/`). Every write calls one service."""
import csv
import io

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from mailservice.api.addresses import AddressScopedMixin
from mailservice.models import Address, AddressAccess, MailService, Permission
from mailservice.permissions import manages, require_any
from manager.core.api import ParentScopedMixin, RestrictedViewSet
from manager.core.models import Job
from manager.core.serializers import ModelSerializer, Serializer, refuse_unknown_fields
from manager.core.views import attachment_response

from . import fields as f
from . import limits, render, selectors, services
from .models import JobKind, Signature, SignatureImage, SignatureTemplate
from .services.common import image_url, require_manager, warnings_data


class FieldSpecSerializer(Serializer):
    key = serializers.ChoiceField(choices=list(f.FIELDS), help_text=(
        "Which field; each layout offers its own (logo: `logo`; photo_social: `photo` and "
        "the social links)."))
    source = serializers.ChoiceField(choices=list(f.SOURCES), default=f.USER, help_text=(
        "`auto`: filled from the user's profile (first_name, last_name, job_title, phone, "
        "email, company); `fixed`: `value` for everyone; `user`: completed by each user."))
    value = serializers.CharField(required=False, allow_blank=True, default="",
                                  trim_whitespace=False, help_text=(
                                      "The fixed value; for an image, the `id` of an uploaded image."))
    fallback = serializers.CharField(required=False, allow_blank=True, default="",
                                     trim_whitespace=False,
                                     help_text="Shown when the value is empty.")
    locked = serializers.BooleanField(required=False, default=False, help_text=(
        "An automatic value the user may not replace."))
    hidden = serializers.BooleanField(required=False, default=False,
                                      help_text="Kept in the template, not shown.")


class SignatureTemplateSerializer(Serializer):
    """A template; `fields`, `layout`, `extra_html`, `accent_color`, `image_width` are the
    draft's. `extra_html` is the administrator's HTML block, with `{{ placeholders }}` (the
    field keys, and `full_name`); it is never run through a template engine and is
    sanitised (no script, no event handler, only https/mailto/tel URLs)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=1000)
    layout = serializers.ChoiceField(choices=SignatureTemplate.Layout.choices)
    fields = FieldSpecSerializer(many=True, max_length=len(f.FIELDS) * 2)
    extra_html = serializers.CharField(required=False, allow_blank=True, default="",
                                       trim_whitespace=False, max_length=100_000)
    accent_color = serializers.CharField(required=False, default=render.DEFAULT_ACCENT,
                                         max_length=20)
    image_width = serializers.IntegerField(required=False, default=render.DEFAULT_IMAGE_WIDTH,
                                           min_value=0, max_value=100_000)
    hidden = serializers.BooleanField(required=False, default=False)
    for_existing_users = serializers.BooleanField(required=False, default=False, help_text=(
        "On the first publish, make signatures for every user of the service's addresses."))
    publish = serializers.BooleanField(required=False, default=False, write_only=True,
                                       help_text="Create: publish at once instead of a draft.")
    status = serializers.ChoiceField(choices=["draft", "published", "changed"], read_only=True,
                                     help_text="`changed`: published, with unpublished edits.")
    version = serializers.SerializerMethodField(help_text="The published version's number.")
    created = serializers.DateTimeField(read_only=True)
    updated = serializers.DateTimeField(read_only=True)

    def get_version(self, obj) -> int | None:
        return obj.current_version.number if obj.current_version_id else None

    def to_representation(self, instance):
        return super().to_representation(_DesignView(instance))


class _DesignView:
    """A template read as the serializer's flat fields (the draft's design)."""

    def __init__(self, template):
        self._t = template
        design = render.design_from_dict(template.design)
        self.fields = render.design_to_dict(design)["fields"]
        self.extra_html, self.accent_color = design.extra_html, design.accent_color
        self.image_width = design.image_width

    def __getattr__(self, name):
        return getattr(self._t, name)


class VersionSerializer(Serializer):
    number = serializers.IntegerField()
    created = serializers.DateTimeField()
    design = serializers.JSONField(help_text="The published design (layout, fields, …).")


class JobOperationField(serializers.ChoiceField):
    """A signature job's kind as the API names it: its operation (`activate`)."""

    def __init__(self, **kwargs):
        super().__init__(choices=[(kind.operation, kind.label) for kind in JobKind], **kwargs)

    def to_representation(self, value):
        return JobKind(value).operation


class SignatureJobSerializer(ModelSerializer):
    """A bulk job: `state` queued | running | done | failed, `progress` 0–100, `errors`
    (per address)."""

    kind = JobOperationField(read_only=True)
    progress = serializers.IntegerField(read_only=True)
    signatures = serializers.SerializerMethodField()
    errors = serializers.ListField(child=inline_serializer("SignatureJobError", {
        "address": serializers.IntegerField(allow_null=True),
        "message": serializers.CharField()}), read_only=True)
    mail_service = serializers.SerializerMethodField()
    template = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "state", "progress", "total", "processed", "signatures",
                  "errors", "mail_service", "template", "created", "started", "finished"]
        read_only_fields = fields

    def get_signatures(self, job) -> int:
        """Made or renewed so far."""
        return job.result.get("signatures", 0)

    def get_mail_service(self, job) -> int:
        return job.params["mail_service"]

    def get_template(self, job) -> int | None:
        return job.params.get("template")


STATE_HELP = "complete | waiting_for_user | missing_profile_data"


class RenderedSerializer(Serializer):
    html = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    state = serializers.CharField(help_text=STATE_HELP)
    width = serializers.IntegerField(help_text="Pixels.")
    warnings = serializers.ListField(child=serializers.CharField())


def _rendered(rendered: render.Rendered) -> dict:
    return {"html": rendered.html, "text": rendered.text, "state": rendered.state,
            "width": rendered.width,
            "warnings": selectors.warnings_shown(warnings_data(rendered))}


AddressIds = inline_serializer("SignatureAddresses", {
    "addresses": serializers.ListField(child=serializers.IntegerField(), required=False,
                                       help_text="Address ids of the service; all when omitted.")})


class ServiceScopedMixin(ParentScopedMixin):
    parent_kwarg = "service_pk"

    def parent(self):
        return self.service()

    def service(self) -> MailService:
        if not hasattr(self, "_service"):
            self._service = get_object_or_404(MailService.objects.restrict(self.request.user, "view")
                                              .select_related("organisation"),
                                              pk=self.kwargs["service_pk"])
        return self._service


def _address_ids(service, data, *, required=False):
    refuse_unknown_fields(data, {"addresses"})
    ids = data.get("addresses") if isinstance(data, dict) else None
    if ids is None:
        if required:
            raise serializers.ValidationError({"addresses": ["A list of address ids."]})
        return None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                            and 0 < i < 2**31 for i in ids):
        raise serializers.ValidationError({"addresses": ["A list of address ids."]})
    addresses = list(Address.objects.filter(mail_service=service, pk__in=ids))
    if len(addresses) != len(set(ids)):
        raise serializers.ValidationError({"addresses": ["Not all are addresses of this service."]})
    return addresses


class SignatureTemplateViewSet(ServiceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                               mixins.CreateModelMixin, mixins.UpdateModelMixin,
                               mixins.DestroyModelMixin, RestrictedViewSet):
    """Signature templates of the mail service (organisation managers). A template is
    edited as a draft; `publish/` freezes it as a new version, which signatures are made
    from. `create-signatures/` makes a signature for every user of the addresses (all, or
    those given) and e-mails each user; `activate/` makes the template the one stamped on
    the given addresses; `regenerate/` renews the signatures made from older versions.
    These three answer 202 with a job (`signature-jobs/{id}/`)."""

    queryset = SignatureTemplate.objects.all()
    serializer_class = SignatureTemplateSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return (SignatureTemplate.objects.filter(mail_service=self.service())
                .select_related("current_version", "mail_service__organisation")
                .order_by("name", "pk"))

    def check_object_permissions(self, request, obj):
        pass  # the services check the role

    def _design(self, data):
        return {k: data[k] for k in ("layout", "fields", "extra_html", "accent_color",
                                     "image_width") if k in data}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = services.template_create(
            actor=request.user, service=self.service(), name=data["name"],
            for_existing_users=data.get("for_existing_users", False),
            publish=data.get("publish", False),
            **{**self._design(data), "fields": [dict(x) for x in data["fields"]]})
        if data.get("hidden"):
            template = services.template_update(actor=request.user, template=template, hidden=True)
        return Response(SignatureTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = serializer.validated_data
        design = self._design(data)
        if "fields" in design:
            design["fields"] = [dict(x) for x in design["fields"]]
        serializer.instance = services.template_update(
            actor=self.request.user, template=serializer.instance, name=data.get("name"),
            hidden=data.get("hidden"), for_existing_users=data.get("for_existing_users"),
            **design)

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True  # PUT: the fields sent replace, the others stay
        return super().update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.template_delete(actor=self.request.user, template=instance)

    @extend_schema(request=None, responses={201: SignatureTemplateSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, *args, **kwargs):
        copy = services.template_duplicate(actor=request.user, template=self.get_object())
        return Response(SignatureTemplateSerializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=inline_serializer("SignaturePublished", {
        "template": SignatureTemplateSerializer(),
        "job": SignatureJobSerializer(allow_null=True, help_text=(
            "The creation of signatures for existing users, when the template asks for it."))}))
    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        template = self.get_object()
        job = services.template_publish(actor=request.user, template=template)
        template.refresh_from_db()
        return Response({"template": SignatureTemplateSerializer(template).data,
                         "job": SignatureJobSerializer(job).data if job else None})

    def _job(self, request, kind, *, required=False):
        template = self.get_object()
        addresses = _address_ids(template.mail_service, request.data, required=required)
        job = services.job_start(actor=request.user, template=template, kind=kind,
                                 addresses=addresses)
        return Response(SignatureJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=AddressIds, responses={202: SignatureJobSerializer})
    @action(detail=True, methods=["post"], url_path="create-signatures")
    def create_signatures(self, request, *args, **kwargs):
        return self._job(request, JobKind.CREATE)

    @extend_schema(request=inline_serializer("SignatureActivation", {
        "addresses": serializers.ListField(child=serializers.IntegerField(),
                                           help_text="Address ids of the service.")}),
        responses={202: SignatureJobSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, *args, **kwargs):
        return self._job(request, JobKind.ACTIVATE, required=True)

    @extend_schema(request=None, responses={202: SignatureJobSerializer})
    @action(detail=True, methods=["post"])
    def regenerate(self, request, *args, **kwargs):
        return self._job(request, JobKind.REGENERATE)

    @extend_schema(parameters=[
        OpenApiParameter("user", int, description="Preview as this user of the service (their id)."),
        OpenApiParameter("address", int, description="Of this address (its generic signature "
                         "without `user`)."),
        OpenApiParameter("version", str, enum=["draft", "published"])],
        responses=RenderedSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, *args, **kwargs):
        """The template as the signature of a real user of the service (their profile and
        completed values), before publishing."""
        template = self.get_object()
        params = request.query_params
        access = address = None
        for name in ("user", "address"):
            if params.get(name) and not params[name].isdigit():
                raise serializers.ValidationError({name: ["An id."]})
        if params.get("address"):
            address = get_object_or_404(Address.objects.filter(mail_service=template.mail_service),
                                        pk=int(params["address"][:10]))
        if params.get("user"):
            accesses = AddressAccess.objects.filter(address__mail_service=template.mail_service,
                                                    user_id=int(params["user"][:10]))
            if address is not None:
                accesses = accesses.filter(address=address)
            access = accesses.select_related("user", "address").first()
            if access is None:
                raise serializers.ValidationError({"user": ["Not a user of this service."]})
        rendered = selectors.preview(template, access=access, address=address,
                                     draft=params.get("version", "draft") != "published")
        return Response(_rendered(rendered))

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, *args, **kwargs):
        return Response(VersionSerializer(self.get_object().versions.order_by("-number"),
                                          many=True).data)

    @extend_schema(responses=inline_serializer("SignatureReportRow", {
        "address": serializers.IntegerField(), "email": serializers.CharField(),
        "state": serializers.ChoiceField(choices=["complete", "waiting_for_user",
                                                  "missing_profile_data", "no_signature"]),
        "signatures": inline_serializer("SignatureReportSignature", {
            "user": serializers.CharField(help_text="The user's e-mail, or `generic`."),
            "state": serializers.CharField(), "outdated": serializers.BooleanField(),
            "warnings": serializers.ListField(child=serializers.CharField())}, many=True)},
        many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def report(self, request, *args, **kwargs):
        """Data quality per address: complete, waiting for the user, or missing profile data."""
        rows = selectors.quality_report(self.get_object())
        return Response([{"address": r.address.pk, "email": r.address.email, "state": r.state,
                          "signatures": [{"user": u, "state": s, "outdated": o, "warnings": w}
                                         for u, s, o, w in r.people]} for r in rows])

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    @action(detail=True, methods=["get"], url_path="report/csv")
    def report_csv(self, request, *args, **kwargs):
        template = self.get_object()
        return attachment_response(report_csv(template), f"signatures-{template.pk}.csv",
                                   content_type="text/csv; charset=utf-8")


def report_csv(template) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in selectors.report_csv_rows(template, selectors.quality_report(template)):
        writer.writerow(row)
    return out.getvalue()


class ImageSerializer(ModelSerializer):
    id = serializers.UUIDField(source="ref", read_only=True, help_text=(
        "What a template's image field takes as its `value`."))
    url = serializers.SerializerMethodField()

    class Meta:
        model = SignatureImage
        fields = ["id", "url", "alt", "width", "height", "content_type", "created"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return image_url(obj)


class SignatureImageViewSet(ServiceScopedMixin, mixins.ListModelMixin, RestrictedViewSet):
    """Logos and photos for the service's templates: PNG or JPEG, re-encoded, at most
    `IMAGE_STORED_WIDTH_MAX_PX` wide; SVG and WebP are refused; `alt` is required."""

    queryset = SignatureImage.objects.all()
    serializer_class = ImageSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        service = self.service()
        require_manager(self.request.user, service)
        return SignatureImage.objects.filter(organisation_id=service.organisation_id).defer(
            "content").order_by("-created", "-pk")

    @extend_schema(request={"multipart/form-data": inline_serializer("SignatureImageUpload", {
        "file": serializers.FileField(), "alt": serializers.CharField()})},
        responses={201: ImageSerializer})
    def create(self, request, *args, **kwargs):
        refuse_unknown_fields(request.data, {"file", "alt"})
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Upload a PNG or JPEG image."]})
        image = services.image_upload(actor=request.user, service=self.service(),
                                      data=upload.read(limits.IMAGE_UPLOAD_BYTES + 1),
                                      alt=request.data.get("alt", ""))
        return Response(ImageSerializer(image).data, status=status.HTTP_201_CREATED)


class SignatureSerializer(ModelSerializer):
    """A signature of the address: a user's (`user`), or the generic one (`user` null).
    Only `values` is written: the fields left to the user, and automatic ones they may
    replace (`editable`)."""

    user = inline_serializer("SignatureUser", {"id": serializers.IntegerField(),
                                               "email": serializers.EmailField()}, allow_null=True)
    template = inline_serializer("SignatureTemplateRef", {"id": serializers.IntegerField(),
                                                          "name": serializers.CharField()})
    version = serializers.IntegerField(source="version.number", read_only=True)
    outdated = serializers.BooleanField(source="is_outdated", read_only=True)
    editable = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    values = serializers.DictField(child=serializers.CharField(allow_blank=True,
                                                               max_length=100_000))
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)

    class Meta:
        model = Signature
        fields = ["id", "user", "template", "version", "outdated", "values", "editable", "html",
                  "text", "state", "warnings", "created", "updated"]
        read_only_fields = ["id", "html", "text", "state", "created", "updated"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["user"] = ({"id": instance.user.pk, "email": instance.user.email}
                        if instance.user_id else None)
        data["template"] = {"id": instance.template_id, "name": instance.template.name}
        return data

    def get_editable(self, obj) -> list[str]:
        return services.editable_keys(render.design_from_dict(obj.version.design))

    def get_warnings(self, obj) -> list[str]:
        return selectors.warnings_shown(obj)


class StampingSerializer(Serializer):
    stamping = serializers.BooleanField(required=False, help_text=(
        "The mail server adds the signature to mail sent with SMTP AUTH. A user whose mail "
        "client adds the signature too gets it twice: turn one off."))
    on_replies = serializers.BooleanField(required=False, help_text=(
        "Also on replies and forwards (by default: new messages only)."))
    template = serializers.IntegerField(read_only=True, allow_null=True, source="template_id",
                                        help_text="The template active on the address.")


class AddressSignatureViewSet(AddressScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                              mixins.UpdateModelMixin, RestrictedViewSet):
    """The address's signatures: its managers see every one (the generic signature
    included), a user with "manage signature" their own."""

    queryset = Signature.objects.all()
    serializer_class = SignatureSerializer
    lookup_value_regex = r"\d+"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "address_pk" in self.kwargs:
            require_any(request.user, self.address(), (Permission.MANAGE_SIGNATURE,))

    def get_queryset(self):
        address = self.address()
        queryset = (Signature.objects.filter(address=address)
                    .select_related("user", "template", "version",
                                    "address__mail_service__organisation")
                    .order_by("template__name", "user__email", "pk"))
        return queryset if manages(self.request.user, address) else queryset.filter(
            user=self.request.user)

    def check_object_permissions(self, request, obj):
        pass  # the services check the role and the permission

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        values = serializer.validated_data.get("values", {})
        serializer.instance = services.signature_update(
            actor=self.request.user, signature=serializer.instance, values=dict(values))

    @extend_schema(methods=["GET"], responses=StampingSerializer)
    @extend_schema(methods=["PUT"], request=StampingSerializer, responses=StampingSerializer)
    @action(detail=False, methods=["get", "put"], url_path="settings", pagination_class=None)
    def stamping(self, request, *args, **kwargs):
        """Server stamping of the address's signature: on/off, new messages only or replies too."""
        address = self.address()
        if request.method == "PUT":
            serializer = StampingSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            services.stamping_update(actor=request.user, address=address,
                                     **serializer.validated_data)
        return Response(StampingSerializer(selectors.settings_of(address)).data)


class SignatureJobViewSet(mixins.RetrieveModelMixin, RestrictedViewSet):
    """The progress of a bulk signature job (a core job of a signature kind; another
    kind's id is a 404 here)."""

    queryset = Job.objects.all()
    serializer_class = SignatureJobSerializer
    lookup_value_regex = r"\d+"

    def base_queryset(self):
        return Job.objects.filter(kind__in=JobKind.values)


def register(router):
    router.register(r"mail-services/(?P<service_pk>\d+)/signature-templates",
                    SignatureTemplateViewSet, basename="signature-template")
    router.register(r"mail-services/(?P<service_pk>\d+)/signature-images",
                    SignatureImageViewSet, basename="signature-image")
    router.register(r"addresses/(?P<address_pk>\d+)/signatures", AddressSignatureViewSet,
                    basename="address-signature")
    router.register("signature-jobs", SignatureJobViewSet, basename="signature-job")

