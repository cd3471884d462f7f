"""Serializer plumbing of the API: the bases every resource's serializer derives from
(a body names only known fields), and for the resources read in bulk, fields derived once
per class, a read plan compiled once per class, and related ids resolved through the gate
only when a body is read. A page of 100 addresses spent most of its own work in DRF's
generic per-field path (about 80 µs a row for 27 fields)."""
import copy
import operator
from collections.abc import Mapping

from django.db.models.query_utils import DeferredAttribute
from django.http import QueryDict
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject


class FieldsBuiltOnceMixin:
    """For a ModelSerializer whose fields depend on its class alone (not on the request or
    the instance): the fields derived from the model are built once per class, and each
    serializer gets its own copies, which `get_fields` may still adjust per request (a
    field made read-only on an update). Deriving them from the model on every request was
    a tenth of a small call's work."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built_once = built
        return copy.deepcopy(built)


class KnownFieldsOnlyMixin:
    """A body may name only the serializer's own fields: an unknown one (a typo such as
    `quota_mbs`, a field of another resource) is refused, 400 `unknown_field`, instead of
    being dropped while the request reports success. Read-only fields stay accepted and
    ignored, so a representation read back can be sent again as it is."""

    def to_internal_value(self, data):
        refuse_unknown_fields(data, self.fields)
        return super().to_internal_value(data)


FORM_PLUMBING = frozenset({"csrfmiddlewaretoken"})


def refuse_unknown_fields(data, known) -> None:
    """400 `unknown_field` for each key of a body (a mapping) that is not in `known`; for
    the actions that read their few fields from the body themselves."""
    if not isinstance(data, Mapping):
        return  # not an object: the field or serializer reading it says why
    # A form posted from a signed-in browser (the browsable API's forms) carries Django's
    # CSRF token beside the fields; the CSRF check has already read it.
    plumbing = FORM_PLUMBING if isinstance(data, QueryDict) else ()
    unknown = [key for key in data if key not in known and key not in plumbing]
    if unknown:
        names = ", ".join(sorted(known))
        raise serializers.ValidationError({
            str(key): [serializers.ErrorDetail(
                f"Unknown field; this object's fields are: {names}.", code="unknown_field")]
            for key in unknown})


class Serializer(KnownFieldsOnlyMixin, serializers.Serializer):
    """The base of the API's plain serializers (bodies that name only known fields)."""


class ModelSerializer(KnownFieldsOnlyMixin, serializers.ModelSerializer):
    """The base of the API's model serializers (bodies that name only known fields)."""


class GatedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """The id of an object the requester may `action` (the model's `.restrict` gate): an
    id outside the gate reads as "does not exist". The gate's query is built when a body
    is read, not when the serializer is made, so a read builds none."""

    def __init__(self, model, action="view", **kwargs):
        self.gated_model, self.gated_action = model, action
        super().__init__(queryset=model.objects.none(), **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return self.gated_model.objects.none()
        return self.gated_model.objects.restrict(request.user, self.gated_action)


# Field types whose `to_representation` reads nothing but its own options (not the
# request, the context or the parent), so one prototype's field converts for every
# serializer of the class.
_SELF_CONTAINED = (
    drf_fields.BooleanField, drf_fields.CharField, drf_fields.ChoiceField,
    drf_fields.DateField, drf_fields.DateTimeField, drf_fields.DecimalField,
    drf_fields.FloatField, drf_fields.IntegerField, drf_fields.JSONField,
    drf_fields.UUIDField,
)
# Where DRF's conversion is the builtin itself (CharField: str(value), …).
_BUILTIN = {drf_fields.CharField: str, drf_fields.EmailField: str,
            drf_fields.IntegerField: int, drf_fields.FloatField: float}


class ReadPlanMixin:
    """`to_representation` through a plan compiled once per class: each field's attribute
    is read with one `attrgetter` and converted by its type's function, a foreign key's
    id is read from its column, and method fields call the serializer's method. Anything
    the plan cannot prove equivalent (a dotted source, a callable attribute, a field that
    reads the context) takes DRF's own path. The output equals DRF's (a test compares
    them over generated rows)."""

    def to_representation(self, instance):
        plan = type(self).__dict__.get("_read_plan")
        if plan is None:
            plan = type(self)._read_plan = self._compile_read_plan()
        ret = {}
        for name, read, convert in plan:
            if read is None:  # a method field: the serializer's own method, with its context
                ret[name] = getattr(self, convert)(instance)
            elif convert is None:  # DRF's path, on this serializer's own field
                self._represent_as_drf(ret, self.fields[name], instance)
            else:
                value = read(instance)
                ret[name] = None if value is None else convert(value)
        return ret

    @staticmethod
    def _represent_as_drf(ret, field, instance):
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return
        check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        ret[field.field_name] = None if check is None else field.to_representation(attribute)

    def _compile_read_plan(self):
        prototype = type(self)(context={})
        model = getattr(getattr(self, "Meta", None), "model", None)
        return tuple(_plan_entry(field, model) for field in prototype._readable_fields)


def _identity(value):
    return value


def _plan_entry(field, model):
    name = field.field_name
    if isinstance(field, serializers.SerializerMethodField):
        return name, None, field.method_name
    attrs = field.source_attrs
    described = getattr(model, attrs[0], None) if model is not None and len(attrs) == 1 else None
    if isinstance(field, serializers.PrimaryKeyRelatedField) and field.pk_field is None:
        related = getattr(described, "field", None)
        if related is not None and getattr(related, "many_to_one", False):
            return name, operator.attrgetter(related.attname), _identity
    elif type(field) in _BUILTIN and isinstance(described, DeferredAttribute | property):
        return name, operator.attrgetter(attrs[0]), _BUILTIN[type(field)]
    elif isinstance(field, _SELF_CONTAINED) and isinstance(described, DeferredAttribute | property):
        return name, operator.attrgetter(attrs[0]), field.to_representation
    elif (isinstance(field, serializers.ListField) and isinstance(field.child, _SELF_CONTAINED)
          and isinstance(described, DeferredAttribute | property)):
        return name, operator.attrgetter(attrs[0]), field.to_representation
    return name, True, None
