"""README's table of limits is the one administrators read: it states the values that
`mailservice/limits.py`, `signatures/limits.py`, `mailtools/limits.py` and the settings enforce, and names every
one of them."""
import re
from pathlib import Path

from django.conf import settings

from mailservice import limits
from mailtools import limits as tool_limits
from signatures import limits as signature_limits

README = Path(__file__).resolve().parents[1] / "README.md"


def documented() -> dict[str, str]:
    section = README.read_text().split("### Limits", 1)[1].split("\n#", 1)[0]
    return dict(re.findall(r"`([A-Z_]+)` = ([\d.]+)", section))


def test_every_limit_is_in_the_readme_with_its_value():
    values = documented()
    constants = {name: value for module in (limits, signature_limits, tool_limits)
                 for name, value in vars(module).items() if name.isupper()}
    assert set(constants) <= set(values), set(constants) - set(values)
    for name, value in constants.items():
        assert int(values[name]) == value, name
    assert int(values["API_PAGE_SIZE_MAX"]) == settings.API_PAGE_SIZE_MAX
    assert float(values["DATA_UPLOAD_MAX_MEMORY_SIZE"]) * 1024 * 1024 == \
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE
