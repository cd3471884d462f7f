from django import forms
from django.utils.translation import gettext_lazy as _

from manager.core.errors import ServiceError

from . import services
from .limits import ANALYSED_MESSAGE_BYTES


class MessageForm(forms.Form):
    """An .eml to upload or headers to paste; the browser's time zone rides along (filled
    by manager.js into the hidden `time_zone`)."""

    message = forms.FileField(label=_("E-mail (.eml)"), required=False)
    headers = forms.CharField(label=_("Or paste its headers"), required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false",
                                                           "class": "code"}))
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput(
        attrs={"data-browser-time-zone": "1"}))

    def message_bytes(self, *, limit: int = ANALYSED_MESSAGE_BYTES) -> bytes | None:
        """The bytes (after `is_valid()`), or None with the reason on the form."""
        upload = self.cleaned_data.get("message")
        try:
            if upload is not None:
                return services.upload_bytes(upload, "message", limit=limit)
            pasted = self.cleaned_data.get("headers") or ""
            if pasted.strip():
                return services.check_message(pasted.encode("utf-8", "surrogateescape"), "headers",
                                              limit=limit)
        except ServiceError as exc:
            for field, messages in exc.fields.items():
                for message in messages:
                    self.add_error(field, message)
            return None
        self.add_error("message", _("Upload an .eml file or paste its headers."))
        return None
