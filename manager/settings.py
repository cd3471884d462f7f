"""One environment-driven settings module: embedded defaults (SQLite, filesystem broker),
DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis."""
import json
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


VAR_DIR = Path(env("MM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Secret key and the production posture ---------------------------------------------
# PRODUCTION=1 turns on the deployment settings (secure cookies, HSTS, HTTPS redirect: the
# "Production posture" block below) and forbids DEBUG. The development key is publicly known: sessions,
# password-reset links and the DKIM keys' encryption all derive from SECRET_KEY, so with
# DEBUG off the product refuses to start without a key of its own (bin/run keeps one per
# installation in $MM_VAR_DIR/secret_key, bin/test and the tests make a random one).
PRODUCTION = env_bool("PRODUCTION", False)
DEBUG = env_bool("DEBUG", False) and not PRODUCTION
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env("SECRET_KEY", "") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is unset or the development key: set SECRET_KEY to a long random value "
        "of this installation's own (bin/run keeps one in $MM_VAR_DIR/secret_key), or DEBUG=1 "
        "for development.")
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "manager.core",
    "manager.accounts",
    "manager.audit",
    "manager.security",
    "mailservice",
    "dnszones",
    "signatures",
    "mailtools",
]

MIDDLEWARE = [
    "manager.core.middleware.TrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "manager.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "manager.core.middleware.RequestIdMiddleware",
    "manager.core.middleware.HtmxVaryMiddleware",
    "manager.accounts.middleware.CurrentOrganisationMiddleware",
    "manager.accounts.middleware.RememberLanguageMiddleware",
]

# Under /api/ a refused CSRF check answers in the API's one error shape.
CSRF_FAILURE_VIEW = "manager.core.views.csrf_failure"
ROOT_URLCONF = "manager.urls"
WSGI_APPLICATION = "manager.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "manager.accounts.context_processors.organisations",
                "manager.core.context_processors.csp_nonce",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker) share the file: wait rather than fail on a lock.
    # IMMEDIATE: a transaction takes the write lock at BEGIN; a deferred one that reads
    # and then writes fails at once ("database is locked", no wait) while another process
    # commits, which the pipeline e2e tests hit.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory: end-to-end tests start Celery workers that must see the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # also serve straight from static/ before collectstatic

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Mail Manager <no-reply@localhost>")
# The relay the SMTP backend hands mail to (phishing reports, invitations, resets): without
# these an installation that chose the SMTP backend could only send through localhost:25.
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A relay that does not answer fails the send (the report is listed as failed) instead of
# holding a worker for the socket's default of forever.
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "30"))

# --- REST API -------------------------------------------------------------------------
# Failed authentications (and password-reset requests) per account and per client IP in a
# window (manager/accounts/auth_limits.py); past them, 429 until the window ends.
AUTH_LIMITS = {
    "login": {"per_account": int(env("AUTH_LOGIN_PER_ACCOUNT", "5")),
              "per_ip": int(env("AUTH_LOGIN_PER_IP", "20")),
              "window_seconds": int(env("AUTH_LOGIN_WINDOW_SECONDS", "900"))},
    "token": {"per_account": 0, "per_ip": int(env("AUTH_TOKEN_PER_IP", "20")),
              "window_seconds": int(env("AUTH_TOKEN_WINDOW_SECONDS", "900"))},
    "invitation": {"per_account": 0, "per_ip": int(env("AUTH_INVITATION_PER_IP", "20")),
                   "window_seconds": int(env("AUTH_INVITATION_WINDOW_SECONDS", "900"))},
    "password_reset": {"per_account": int(env("AUTH_RESET_PER_ACCOUNT", "3")),
                       "per_ip": int(env("AUTH_RESET_PER_IP", "10")),
                       "window_seconds": int(env("AUTH_RESET_WINDOW_SECONDS", "3600"))},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "manager.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "manager.core.parsers.JSONParser",  # deep nesting is a 400, not a RecursionError
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "manager.core.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "manager.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", "60/min"),
        "user": env("API_THROTTLE_USER", "1200/min"),
        "invitation_resend": env("INVITATION_RESEND_RATE", "5/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_PAGE_SIZE_MAX = 1000
SPECTACULAR_SETTINGS = {
    "TITLE": "Mail Manager API",
    "DESCRIPTION": "Organisations, mail services, addresses, rules, DNS. "
    "Authenticate with `Authorization: Bearer <token>`. Errors share one shape: "
    '`{"error": {"code", "message", "fields"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Self-hosted: the docs page must not fetch swagger-ui from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several resources have a `state` with its own choices: each enum gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "manager.core.models.Job.State",
        "DkimKeyStateEnum": "mailservice.models.DkimKey.State",
        "SignatureStateEnum": "signatures.models.Signature.State",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "manager.core.schema.add_error_responses",
        "manager.core.schema.close_request_bodies",
    ],
}

# --- Push outbox ------------------------------------------------------------------------
PUSH_RETRY_BASE_SECONDS = float(env("PUSH_RETRY_BASE_SECONDS", "2"))
PUSH_RETRY_MAX_SECONDS = float(env("PUSH_RETRY_MAX_SECONDS", "300"))
PUSH_MAX_ATTEMPTS = int(env("PUSH_MAX_ATTEMPTS", "12"))
# A worker renews the lease of the push it runs every third of this; once it has run out
# (the worker died) the periodic re-queue sends the job to another worker. A dead
# worker's push is therefore taken over within PUSH_LEASE_SECONDS + PUSH_REQUEUE_SECONDS.
PUSH_LEASE_SECONDS = float(env("PUSH_LEASE_SECONDS", "10"))
PUSH_REQUEUE_SECONDS = float(env("PUSH_REQUEUE_SECONDS", "10"))

# --- Celery ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Recovery from a dead worker does not wait for this (the outbox lease does it); it
    # must exceed the longest retry countdown, or Redis hands a retry waiting in a
    # worker's memory to a second worker before it is due.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(600, 2 * PUSH_RETRY_MAX_SECONDS)}
else:
    # Embedded default: kombu's filesystem transport needs no server.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A pool child killed mid-task (prefork): its message goes back to the queue at once. A
# whole worker killed: Redis redelivers after the visibility timeout, the filesystem
# transport never does; the outbox lease covers both.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Expires: while no worker runs, the re-queues do not pile up behind each other.
    "requeue-stuck-pushes": {"task": "manager.core.tasks.requeue_stuck_pushes",
                             "schedule": PUSH_REQUEUE_SECONDS,
                             "options": {"expires": PUSH_REQUEUE_SECONDS}},
    "reconcile-mail-services": {"task": "mailservice.tasks.reconcile_mail_services",
                                "schedule": float(env("RECONCILE_SECONDS", "300"))},
    # Deliveries a pushed Sieve script made fail wait in Postfix's queue until the
    # previous script is put back: look often.
    "watch-sieve-deliveries": {"task": "mailservice.tasks.watch_sieve_deliveries",
                               "schedule": float(env("SIEVE_WATCH_SECONDS", "60"))},
    # Each host's worker reads its new Postfix and Dovecot log lines into the delivery log.
    "watch-delivery-logs": {"task": "mailservice.tasks.watch_delivery_logs",
                            "schedule": float(env("DELIVERY_LOG_READ_SECONDS", "60"))},
    "purge-delivery-log": {"task": "mailservice.tasks.purge_delivery_log",
                           "schedule": float(env("DELIVERY_LOG_PURGE_SECONDS", "3600"))},
    "purge-removed-mail": {"task": "mailservice.tasks.purge_removed_mail", "schedule": 3600.0,
                           "options": {"expires": 3600.0}},
    # Each host's worker asks its Dovecot how much space every mailbox uses.
    "watch-quota-usage": {"task": "mailservice.tasks.watch_quota_usage",
                          "schedule": float(env("QUOTA_REPORT_SECONDS", "900"))},
    # DKIM key rotations move on: switch once the new selector is served and cached
    # copies of the old answer expired, withdraw a retired key's record later.
    "advance-dkim-rotations": {"task": "mailservice.tasks.advance_dkim_rotations",
                               "schedule": float(env("DKIM_ROTATION_SECONDS", "300"))},
}

# --- Mail product settings ------------------------------------------------------------
MAIL_IMAP_HOST = env("MAIL_IMAP_HOST", "mail.example.net")
MAIL_SMTP_HOST = env("MAIL_SMTP_HOST", "mail.example.net")
MAIL_IMAP_PORT = int(env("MAIL_IMAP_PORT", "993"))
MAIL_SMTP_PORT = int(env("MAIL_SMTP_PORT", "587"))
MAIL_SMTPS_PORT = int(env("MAIL_SMTPS_PORT", "465"))
MAIL_TYPE_HEADER = env("MAIL_TYPE_HEADER", "X-Mail-Type")
# Public host names per backend host, for client settings and the connectivity check:
# {"<backend host>": {"imap": "imap2.example.net", "smtp": "smtp2.example.net"}} (JSON).
MAIL_CLIENT_HOSTS = json.loads(env("MAIL_CLIENT_HOSTS", "{}"))
MAIL_CONNECTIVITY_TIMEOUT = float(env("MAIL_CONNECTIVITY_TIMEOUT", "5"))
# JSON file describing the backend host(s); bin/run points it at its local stack.
MAIL_BACKEND_CONFIG = env("MAIL_BACKEND_CONFIG", "")
# Days the delivery log (per-address message tracing) keeps its events, and rotated log
# files on the hosts.
DELIVERY_LOG_DAYS = int(env("DELIVERY_LOG_DAYS", "20"))
# A removed mail service or address can be restored for this long; then its mail, Sieve
# scripts and user data are deleted from the backend (hourly check).
MAIL_REMOVAL_GRACE_DAYS = float(env("MAIL_REMOVAL_GRACE_DAYS", "30"))
# Shared secret of Dovecot's auth policy requests (device "last used"); empty = endpoint off.
MAIL_POLICY_SECRET = env("MAIL_POLICY_SECRET", "")

# The DNS records a mail service installs on its domain (mailservice/mail_records.py): the
# MX target (per backend host in MAIL_MX_HOSTS, JSON {"<backend host>": "mx2.example.net"}),
# the SPF domain its strict SPF includes, the DMARC report address, the host answering
# autoconfig/autodiscover (their CNAME target).
MAIL_MX_HOST = env("MAIL_MX_HOST", "mx.example.net")
MAIL_MX_HOSTS = json.loads(env("MAIL_MX_HOSTS", "{}"))
MAIL_SPF_INCLUDE = env("MAIL_SPF_INCLUDE", "_spf.example.net")
MAIL_DMARC_REPORT_ADDRESS = env("MAIL_DMARC_REPORT_ADDRESS", "dmarc-reports@example.net")
MAIL_CLIENT_SETUP_HOST = env("MAIL_CLIENT_SETUP_HOST", "setup.example.net")
# DKIM keys: encrypted at rest with this secret (empty: derived from SECRET_KEY); a retired
# key's selector record stays published this many days after the switch, for mail still
# in transit and verifiers that cache.
MAIL_DKIM_KEY_SECRET = env("MAIL_DKIM_KEY_SECRET", "")
MAIL_DKIM_RETIRED_DAYS = float(env("MAIL_DKIM_RETIRED_DAYS", "7"))
# --- Bans (manager/security/services.py) --------------------------------------------------
BANS = {
    "account_failures": int(env("BAN_ACCOUNT_FAILURES", "10")),
    "account_window_seconds": int(env("BAN_ACCOUNT_WINDOW_SECONDS", "900")),
    "spray_accounts": int(env("BAN_SPRAY_ACCOUNTS", "20")),
    "spray_window_seconds": int(env("BAN_SPRAY_WINDOW_SECONDS", "900")),
    "ban_seconds": int(env("BAN_SECONDS", "3600")),
}
# A device password not used for this many days is flagged "unused" (bulk revoke).
DEVICE_UNUSED_DAYS = int(env("DEVICE_UNUSED_DAYS", "90"))
# Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses/networks).
TRUSTED_PROXIES = [n for n in env("TRUSTED_PROXIES", "").split(",") if n.strip()]

# --- Production posture (PRODUCTION=1; `manage.py check --deploy` is clean with it) --------
# Cookies only over HTTPS, never readable by scripts (htmx sends the CSRF token from the
# page's hx-headers, not from the cookie), not sent on cross-site subrequests; HTTPS
# enforced by HSTS and a redirect. Behind a reverse proxy terminating TLS, its
# X-Forwarded-Proto is believed only from TRUSTED_PROXIES (manager/core/middleware.py
# drops the header from anyone else).
# Sessions know whose they are (manager/accounts/sessions.py): a role change or disabling
# a person ends theirs with one indexed delete.
SESSION_ENGINE = "manager.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # Lax: links in invitation e-mails still arrive logged in
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Dovecot's auth policy requests (shared secret) come from the mail hosts, which
    # follow no redirect: point them at https or a private network.
    SECURE_REDIRECT_EXEMPT = [r"^internal/"]
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if TRUSTED_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (manager/core/csp.py): scripts and styles only from this
# site or carrying the response's nonce; nothing inline, no eval.
CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

INVITATION_VALID_DAYS = 30
INVITATION_RESEND_PER_HOUR = int(env("INVITATION_RESEND_PER_HOUR", "5"))

# --- DNS ----------------------------------------------------------------------------------
# JSON file describing the DNS server(s) zones are pushed to: one host (a local DNS stack's
# stack.json: host, port, tsig_name, tsig_secret, control_socket), or {"hosts": {name: …}};
# empty = no DNS server (pushes fail with that reason). bin/run points it at its local Knot.
DNS_BACKEND_CONFIG = env("DNS_BACKEND_CONFIG", "")
# The names of the name servers that serve our zones: the apex NS of every zone.
DNS_NAMESERVERS = [n.strip() for n in env("DNS_NAMESERVERS", "ns1.example.net.,ns2.example.net.").split(",")
                   if n.strip()]
DNS_SOA_EMAIL = env("DNS_SOA_EMAIL", "hostmaster")  # one label: relative to each zone
# Every DNS lookup the product makes goes through this resolver (dnszones/resolver.py):
# "host:port" (e.g. a private server in tests), empty for the system's resolver.
DNS_RESOLVER = env("DNS_RESOLVER", "")
DNS_RESOLVER_TIMEOUT = float(env("DNS_RESOLVER_TIMEOUT", "3"))
CELERY_BEAT_SCHEDULE["reconcile-dns-zones"] = {
    "task": "dnszones.tasks.reconcile_dns_zones",
    "schedule": float(env("DNS_RECONCILE_SECONDS", "300"))}
# Flattened SPF records are derived again from their includes this often, so a provider's
# new addresses are published within one period.
CELERY_BEAT_SCHEDULE["reflatten-spf-records"] = {
    "task": "dnszones.tasks.reflatten_spf_records",
    "schedule": float(env("DNS_SPF_REFLATTEN_SECONDS", "3600"))}

# --- The security check of a domain's mail DNS (dnszones/services/security.py) ------------
# What our mail service needs in a domain's DNS: the same values the records a mail service
# installs use (MAIL_MX_HOST(S), MAIL_SPF_INCLUDE, MAIL_CLIENT_SETUP_HOST above), so a
# domain whose records we installed passes the check.
MAIL_AUTOCONFIG_HOST = env("MAIL_AUTOCONFIG_HOST", MAIL_CLIENT_SETUP_HOST)
MAIL_AUTODISCOVER_HOST = env("MAIL_AUTODISCOVER_HOST", MAIL_CLIENT_SETUP_HOST)
# The DMARC record a fix creates: the one a mail service installs.
MAIL_DMARC_RECORD = env("MAIL_DMARC_RECORD", f"v=DMARC1; p=none; rua=mailto:{MAIL_DMARC_REPORT_ADDRESS}")
CELERY_BEAT_SCHEDULE["security-check-domains"] = {
    "task": "dnszones.tasks.security_check_domains",
    "schedule": float(env("DNS_SECURITY_CHECK_SECONDS", "21600"))}

# --- Mail tools: the header viewer and phishing reports (mailtools/) ----------------------
# The authserv-id(s) our own servers write in Authentication-Results (RFC 8601): only
# their verdicts are shown as verified; our MX removes headers claiming them on arrival.
# By default the MX host names, as OpenDKIM and the other milters name themselves.
MAIL_AUTHSERV_IDS = [n.strip().lower() for n in env(
    "MAIL_AUTHSERV_IDS", ",".join([MAIL_MX_HOST, *MAIL_MX_HOSTS.values()])).split(",") if n.strip()]
# Where phishing reports (ARF, RFC 5965) are sent, and who they come from.
PHISHING_REPORT_ADDRESS = env("PHISHING_REPORT_ADDRESS", "abuse@example.net")
PHISHING_REPORT_FROM = env("PHISHING_REPORT_FROM", DEFAULT_FROM_EMAIL)
# Reports whose sending task was lost (the broker was down at the commit) are queued again.
CELERY_BEAT_SCHEDULE["requeue-phishing-reports"] = {
    "task": "mailtools.tasks.requeue_phishing_reports", "schedule": 300.0, "options": {"expires": 300.0}}
