"""API: the bulk import (`addresses/import/`, a job) and export (`addresses/export/`) of a
mail service's addresses as CSV, and the jobs (`jobs/{id}/`) that report an import's
progress and errors."""
import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from manager.accounts.roles import VIEW
from manager.core.api import RestrictedViewSet
from manager.core.models import Job
from manager.core.serializers import ModelSerializer, Serializer

from ..models import MailService
from ..services import bulk


class JobErrorSerializer(Serializer):
    line = serializers.IntegerField(allow_null=True,
                                    help_text="The file's line (1: the header); null: the whole file.")
    column = serializers.CharField(help_text="The column, or empty.")
    message = serializers.CharField()


class JobSerializer(ModelSerializer):
    """A job run by a worker. `state`: `queued`, `running`, `done` or `failed` (the file
    was refused: nothing was imported, `errors` says why); `progress` 0–100; `result` of an
    import: how many addresses, aliases, redirections and users it created (or would, with
    `dry_run`, plus a `preview` of the first rows)."""

    errors = JobErrorSerializer(many=True, read_only=True)
    result = serializers.DictField(read_only=True)
    mail_service = serializers.SerializerMethodField()
    dry_run = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "state", "progress", "mail_service", "dry_run", "errors",
                  "result", "created", "started", "finished"]
        read_only_fields = fields

    def get_mail_service(self, job) -> int | None:
        return job.params.get("mail_service")

    def get_dry_run(self, job) -> bool:
        return bool(job.params.get("dry_run"))


class AddressImportSerializer(Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8 with or without a byte order mark, "
                                           "separated by `,` or `;`; see README for the columns.")
    mail_service = serializers.PrimaryKeyRelatedField(queryset=MailService.objects.none())
    dry_run = serializers.BooleanField(default=False, help_text="Check every row, import nothing.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["mail_service"].queryset = MailService.objects.restrict(request.user, VIEW)


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client ask for `text/csv`; the file itself is streamed, an error still comes
    in the one JSON error shape."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


class AddressBulkMixin:
    """The import and export actions of AddressViewSet."""

    @extend_schema(request={"multipart/form-data": AddressImportSerializer},
                   responses={202: JobSerializer}, filters=False)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser],
            serializer_class=AddressImportSerializer)
    def import_file(self, request):
        """Import addresses with their aliases, redirections and users from a CSV file into
        one mail service, in a job (202; follow `jobs/{id}/`). Every row is checked first,
        as a single creation checks it; one refused row refuses the file, and nothing is
        imported."""
        serializer = AddressImportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = bulk.import_start(actor=request.user, service=data["mail_service"],
                                data=data["file"].read(), dry_run=data["dry_run"])
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/jobs/{job.pk}/"})

    @extend_schema(
        parameters=[OpenApiParameter("mail_service", int, required=True)], filters=False,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR,
                                                      description="The CSV file, streamed.")})
    @action(detail=False, methods=["get"], url_path="export", pagination_class=None,
            renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def export(self, request):
        """The mail service's addresses as CSV, in the import's columns (an export imports
        back), streamed."""
        raw = request.query_params.get("mail_service", "")
        if not raw.isdigit() or len(raw) > 18:
            raise ValidationError({"mail_service": ["A mail service id is required."]},
                                  code="required")
        service = MailService.objects.restrict(request.user, VIEW).filter(pk=int(raw)).first()
        if service is None:
            raise ValidationError({"mail_service": ["No such mail service."]}, code="does_not_exist")
        response = StreamingHttpResponse(bulk.export_csv(service),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{service.domain}.csv"'
        return response


class JobViewSet(mixins.RetrieveModelMixin, RestrictedViewSet):
    """Jobs run for the organisation (address imports): state, progress and errors. Seen
    by the organisation's managers. Bulk signature jobs have their own resource
    (`signature-jobs/{id}/`), whose errors name addresses rather than lines."""

    queryset = Job.objects.all()
    serializer_class = JobSerializer

    def base_queryset(self):
        return Job.objects.filter(kind=bulk.IMPORT_KIND)


def register(router):
    router.register("jobs", JobViewSet, basename="job")
