"""Every template keeps the Content-Security-Policy: no inline event handler, `style=`
attribute, javascript: URL or htmx inline handler (hx-on), and every <script> or <style>
carries the response's nonce. E-mail templates (read by mail clients, not under the
policy) are left out."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [p for p in ROOT.glob("**/templates") if ".venv" not in p.parts and "node_modules" not in p.parts]
EMAILS = "emails"

FORBIDDEN = {
    "inline event handler": re.compile(r"<[^>]*\s on[a-z]+\s*=", re.I | re.X),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "htmx inline handler": re.compile(r"\shx-on[:-]", re.I),
    "js: expression": re.compile(r"\shx-(?:vals|vars)\s*=\s*['\"]\s*js:", re.I),
}
TAG = re.compile(r"<(script|style)\b([^>]*)>", re.I)
NONCE = re.compile(r"""\snonce="\{\{\s*(?:request\.)?csp_nonce\s*\}\}\"""")


def page_templates():
    for folder in TEMPLATE_DIRS:
        for path in sorted(folder.rglob("*.html")):
            if EMAILS not in path.relative_to(folder).parts:
                yield path


COMMENTS = re.compile(r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S)


def offences(text):
    text = COMMENTS.sub("", text)  # template comments never reach the page
    found = [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]
    found += [f"<{m.group(1)}> without the nonce" for m in TAG.finditer(text)
              if not NONCE.search(m.group(2))]
    return found


def test_the_scan_sees_every_kind_of_offence():
    assert offences('<select onchange="go()">') == ["inline event handler"]
    assert offences('<p style="color: red">') == ["style attribute"]
    assert offences('<a href="javascript:go()">') == ["javascript: URL"]
    assert offences('<div hx-on:click="go()">') == ["htmx inline handler"]
    assert offences("<script>go()</script>") == ["<script> without the nonce"]
    assert offences('<style nonce="x">') == ["<style> without the nonce"]
    assert offences('<script nonce="{{ csp_nonce }}" src="/a.js"></script>') == []
    assert offences('<p data-confirm="Turn on?" class="on">') == []
    assert offences("{# no <style> injected #}<p>") == []


def test_no_template_has_inline_script_style_or_handlers():
    templates = list(page_templates())
    assert len(templates) > 50 and any(p.name == "base.html" for p in templates)
    found = {str(p.relative_to(ROOT)): offences(p.read_text()) for p in templates}
    assert {path: what for path, what in found.items() if what} == {}
