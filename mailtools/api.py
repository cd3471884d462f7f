"""API of the mail tools: the header viewer (`tools/header-analysis/`) and phishing reports
(`tools/phishing-reports/`)."""
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from manager.accounts.models import Organisation
from manager.core.api import RestrictedViewSet
from manager.core.parsers import JSONParser
from manager.core.serializers import ModelSerializer, Serializer, refuse_unknown_fields

from . import selectors, services
from .limits import REPORTED_MESSAGE_BYTES
from .models import PhishingReport

UPLOAD_PARSERS = [MultiPartParser, FormParser, JSONParser]


def message_from(request, field: str = "message", *, limit=None) -> bytes:
    """The uploaded .eml (multipart `message`) or the pasted `headers` text."""
    upload = request.FILES.get(field)
    extra = {"limit": limit} if limit else {}
    if upload is not None:
        return services.upload_bytes(upload, field, **extra)
    pasted = request.data.get("headers")
    if isinstance(pasted, str) and pasted.strip():
        return services.check_message(pasted.encode("utf-8", "surrogateescape"), "headers", **extra)
    raise serializers.ValidationError({field: [serializers.ErrorDetail(
        "Upload an .eml file or paste the headers.", code="required")]})


class MailboxSerializer(Serializer):
    name = serializers.CharField()
    address = serializers.CharField()


class HopSerializer(Serializer):
    position = serializers.IntegerField(help_text="1 is the first server the message went through.")
    by = serializers.CharField()
    # `from` and `with` are Python keywords: declared in get_fields.
    ip = serializers.CharField(help_text="The sending host's address in brackets, if any.")
    date_text = serializers.CharField()
    time = serializers.DateTimeField(source="local_time", allow_null=True,
                                     help_text="In the requested time zone; null when unknown.")
    delay_seconds = serializers.IntegerField(
        allow_null=True, help_text="Since the hop before; null when either time is unknown, "
                                   "negative when the clocks disagree.")
    raw = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(help_text="The sending host as it named itself, "
                                                         "and as the receiver saw it.")
        fields["with"] = serializers.CharField(help_text="The protocol (ESMTP, ESMTPS…).")
        return fields


class AuthResultSerializer(Serializer):
    method = serializers.ChoiceField(choices=["spf", "dkim", "dmarc"])
    result = serializers.CharField(help_text="pass, fail, softfail, neutral, none, temperror…")
    properties = serializers.CharField()
    authserv_id = serializers.CharField(help_text="The server that claims the result.")
    verified = serializers.BooleanField(help_text="True only when the claiming server is one of "
                                                  "ours (MAIL_AUTHSERV_IDS) and the header was "
                                                  "written after the message reached us.")
    before_us = serializers.BooleanField(help_text="The header claims our id but was in the message "
                                                   "before another server handed it on: a forgery.")


class HeaderSerializer(Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class RecipientsSerializer(Serializer):
    to = MailboxSerializer(many=True)
    cc = MailboxSerializer(many=True)
    bcc = MailboxSerializer(many=True)


class HeaderAnalysisSerializer(Serializer):
    """Every text has its control, bidirectional and invisible characters replaced by
    `<U+XXXX>` and is cut when very long; it is still text to escape where it is shown."""

    sender = MailboxSerializer(many=True)
    reply_to = MailboxSerializer(many=True)
    return_path = serializers.CharField()
    recipients = RecipientsSerializer()
    subject = serializers.CharField()
    message_id = serializers.CharField()
    date = serializers.DateTimeField(allow_null=True, help_text="Null when missing or unreadable.")
    date_text = serializers.CharField()
    time_zone = serializers.CharField()
    hops = HopSerializer(many=True)
    hops_total = serializers.IntegerField()
    total_delay_seconds = serializers.IntegerField(allow_null=True)
    authentication = AuthResultSerializer(many=True)
    headers = HeaderSerializer(many=True)
    headers_total = serializers.IntegerField()
    defects = serializers.ListField(child=serializers.CharField())


class HeaderAnalysisViewSet(viewsets.GenericViewSet):
    """Reads a message's headers: sender, recipients, date, subject, the Received chain
    with the delay of each hop, SPF / DKIM / DMARC results (verified only when our own
    servers wrote them). Nothing is stored."""

    serializer_class = HeaderAnalysisSerializer
    pagination_class = None
    filter_backends = []
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        request={"multipart/form-data": inline_serializer("HeaderAnalysisUpload", {
            "message": serializers.FileField(help_text="An .eml file."),
            "time_zone": serializers.CharField(required=False)}),
            "application/json": inline_serializer("HeaderAnalysisHeaders", {
                "headers": serializers.CharField(help_text="Pasted message headers (or a whole message)."),
                "time_zone": serializers.CharField(
                    required=False, help_text="IANA name; times are shown in it (default: the "
                                              "installation's).")})},
        responses={200: HeaderAnalysisSerializer})
    def create(self, request):
        refuse_unknown_fields(request.data, {"message", "headers", "time_zone"})
        raw = message_from(request)
        zone = request.data.get("time_zone")
        result = services.analyse_message(raw, zone_name=zone if isinstance(zone, str) else None)
        with timezone.override(result["time_zone"]):  # times written with the asked offset
            return Response(HeaderAnalysisSerializer(result).data)


class PhishingReportSerializer(ModelSerializer):
    reporter = serializers.EmailField(source="reporter.email", read_only=True, allow_null=True)

    class Meta:
        model = PhishingReport
        fields = ["id", "organisation", "reporter", "sha256", "size", "headers_only", "sender",
                  "subject", "source_ip", "recipient", "state", "error", "created", "sent_at"]
        read_only_fields = fields


class PhishingReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Messages reported as phishing: each is stored once as received (its SHA-256 given)
    and sent to the abuse address as an ARF report (RFC 5965, `Feedback-Type: fraud`);
    `state` is queued, sent or failed (with `error`). Owners and administrators see their
    organisation's reports, anyone else their own."""

    serializer_class = PhishingReportSerializer
    queryset = PhishingReport.objects.none()
    parser_classes = UPLOAD_PARSERS

    def get_queryset(self):
        return selectors.reports_for(self.request.user)

    @extend_schema(
        request={"multipart/form-data": inline_serializer("PhishingReportUpload", {
            "message": serializers.FileField(help_text="The .eml as received."),
            "organisation": serializers.IntegerField(
                required=False, help_text="Default: the caller's first organisation.")}),
            "application/json": inline_serializer("PhishingReportHeaders", {
                "headers": serializers.CharField(help_text="The message's headers, when that is all "
                                                           "there is."),
                "organisation": serializers.IntegerField(required=False)})},
        responses={201: PhishingReportSerializer})
    def create(self, request):
        refuse_unknown_fields(request.data, {"message", "headers", "organisation"})
        organisation = self._organisation(request.data.get("organisation"))
        raw = message_from(request, limit=REPORTED_MESSAGE_BYTES)
        report = services.phishing_report_create(actor=request.user, organisation=organisation,
                                                 original=raw)
        return Response(PhishingReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: PhishingReportSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        """Send a failed report again (queued, its error cleared; audited). A report that
        is not failed is a 409 `not_failed`. Its organisation's owners and administrators,
        and the person who made it, may ask."""
        report = services.phishing_report_resend(actor=request.user, report=self.get_object())
        return Response(PhishingReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)

    def _organisation(self, given) -> Organisation:
        mine = Organisation.objects.restrict(self.request.user, "view")
        if given in (None, ""):
            organisation = mine.order_by("pk").first()
            if organisation is None:
                raise serializers.ValidationError({"organisation": [serializers.ErrorDetail(
                    "You belong to no organisation.", code="required")]})
            return organisation
        try:
            pk = int(given)
        except (TypeError, ValueError):
            raise serializers.ValidationError({"organisation": [serializers.ErrorDetail(
                "A whole number.", code="invalid")]}) from None
        organisation = mine.filter(pk=pk).first()
        if organisation is None:
            # As for any other body field naming an object: a 400, the same for another
            # organisation's id as for one that does not exist.
            raise serializers.ValidationError({"organisation": [serializers.ErrorDetail(
                "No organisation of yours has this id.", code="does_not_exist")]})
        return organisation


def register(router):
    router.register("tools/header-analysis", HeaderAnalysisViewSet, basename="header-analysis")
    router.register("tools/phishing-reports", PhishingReportViewSet, basename="phishing-report")
