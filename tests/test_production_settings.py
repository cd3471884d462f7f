"""The production posture: no start on the development key, `check --deploy` clean with
PRODUCTION=1, secure cookies and HSTS, HTTPS believed only from trusted proxies, and the
Content-Security-Policy with a nonce per response."""
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_OF_INTEREST = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({n: getattr(s, n, None) for n in [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE",
    "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER",
    "SECURE_REDIRECT_EXEMPT"]}))
"""


def product_env(tmp_path, **values):
    """The environment of a fresh product process: manager.settings, no inherited key."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "DEBUG", "PRODUCTION", "DJANGO_SETTINGS_MODULE",
                         # the browser tests allow async-unsafe calls in their process;
                         # `check --deploy` of a product process rightly refuses that
                         "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"DJANGO_SETTINGS_MODULE": "manager.settings", "MM_VAR_DIR": str(tmp_path)}, **values)
    return env


def run_python(code, env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=False, timeout=120)


@pytest.mark.parametrize("key", [None, "dev-only-insecure-key-change-me"])
def test_the_product_refuses_to_start_on_no_or_the_development_key(tmp_path, key):
    env = product_env(tmp_path, **({"SECRET_KEY": key} if key else {}))
    done = run_python("import django; django.setup()", env)
    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is unset or the development key" in done.stderr


def test_debug_allows_the_development_key_and_a_key_of_its_own_starts(tmp_path):
    assert run_python("import django; django.setup()", product_env(tmp_path, DEBUG="1")).returncode == 0
    own = product_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(50))
    assert run_python("import django; django.setup()", own).returncode == 0


def test_production_turns_debug_off_and_cookies_secure(tmp_path):
    env = product_env(tmp_path, PRODUCTION="1", DEBUG="1", SECRET_KEY=secrets.token_urlsafe(50),
                      TRUSTED_PROXIES="10.0.0.1")
    done = run_python(SETTINGS_OF_INTEREST, env)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values == {
        "DEBUG": False, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True, "CSRF_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax", "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 31536000, "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        # Dovecot's policy requests follow no redirect.
        "SECURE_REDIRECT_EXEMPT": ["^internal/"]}


def check_deploy(env):
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=120)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    key = secrets.token_urlsafe(50)
    done = check_deploy(product_env(tmp_path, PRODUCTION="1", SECRET_KEY=key,
                                    ALLOWED_HOSTS="panel.example.net"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr
    # The same installation without the switch is not fit for deployment: the check sees it.
    plain = check_deploy(product_env(tmp_path, SECRET_KEY=key, ALLOWED_HOSTS="panel.example.net"))
    assert plain.returncode != 0 and "security.W004" in plain.stdout + plain.stderr


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=3600,
                   SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   TRUSTED_PROXIES=["10.0.0.1"])
def test_https_is_believed_only_from_a_trusted_proxy():
    client = Client()
    forged = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9")
    assert forged.status_code == 301 and forged["Location"].startswith("https://")
    proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.1")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=3600"


@pytest.mark.django_db
def test_every_page_gets_a_csp_with_a_fresh_nonce_on_its_scripts(client):
    nonces = []
    for _ in range(2):
        response = client.get("/accounts/login/")
        policy = response["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
        html = response.content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert '<meta name="htmx-config"' in html and '"allowEval": false' in html


@pytest.mark.django_db
def test_the_api_docs_page_keeps_the_policy(client, owner):
    client.force_login(owner)
    page = client.get("/api/v1/docs/")
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    html = page.content.decode()
    assert re.findall(r"<(?:script|style)\b[^>]*>", html)
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<(?:script|style)\b[^>]*>", html))
    assert "<script>" not in html
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
