"""Builders for the signature tests: a published template on the Premium service and
images made in memory."""
import io

import pytest
from PIL import Image

from signatures import services

BASIC_FIELDS = [
    {"key": "first_name", "source": "auto"},
    {"key": "last_name", "source": "auto"},
    {"key": "job_title", "source": "auto", "fallback": "Team member"},
    {"key": "department", "source": "user"},
    {"key": "company", "source": "auto"},
    {"key": "phone", "source": "auto"},
    {"key": "email", "source": "auto"},
    {"key": "website", "source": "fixed", "value": "https://acme.example/"},
]


def png(width=800, height=400, mode="RGBA", kind="PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (20, 80, 160, 255) if mode == "RGBA" else (20, 80, 160)
              ).save(out, kind)
    return out.getvalue()


def make_template(owner, service, *, name="Corporate", layout="simple", fields=None, publish=True,
                  **extra):
    return services.template_create(actor=owner, service=service, name=name, layout=layout,
                                    fields=fields if fields is not None else BASIC_FIELDS,
                                    publish=publish, **extra)


@pytest.fixture
def template(owner, premium):
    return make_template(owner, premium)
