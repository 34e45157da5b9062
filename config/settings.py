"""Mesoclinic settings: one module, every deployment difference read from the environment.

Every variable is documented in docs/configuration.md. Development defaults are safe to run
on a laptop; `DJANGO_DEBUG=0` turns on the production hardening that `check --deploy` wants.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105 (DEBUG only)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "mesoclinic.core",
    "mesoclinic.accounts",
    "mesoclinic.patients",
    "mesoclinic.catalog",
    "mesoclinic.screening",
    "mesoclinic.scheduling",
    "mesoclinic.courses",
    "mesoclinic.messaging",
    "mesoclinic.inventory",
    "mesoclinic.procedures",
    "mesoclinic.aftercare",
    "mesoclinic.safety",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mesoclinic.core.middleware.ClientErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["template_partials.templatetags.partials", "mesoclinic.core.templatetags.local_time"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mesoclinic.accounts.context_processors.staff",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# The tables' owner, for `migrate` and `grant_app_role` only; DATABASE_URL then names the application's
# role, which owns nothing (docs/decisions/0026). Same server and database as DATABASE_URL.
MESOCLINIC_DATABASE_OWNER = dj_database_url.parse(os.environ["DATABASE_OWNER_URL"]) if os.environ.get("DATABASE_OWNER_URL") else None
if MESOCLINIC_DATABASE_OWNER is not None:
    _where = ("ENGINE", "HOST", "PORT", "NAME")
    if [MESOCLINIC_DATABASE_OWNER.get(key) for key in _where] != [DATABASES["default"].get(key) for key in _where]:
        raise ImproperlyConfigured("DATABASE_OWNER_URL must name the same PostgreSQL server and database as DATABASE_URL")
    if MESOCLINIC_DATABASE_OWNER["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_OWNER_URL is for PostgreSQL; SQLite has no roles")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, but its flush may empty the tables that refuse TRUNCATE (decision 26).
    DATABASES["default"]["ENGINE"] = "mesoclinic.core.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue instead of failing half-way (the SQLite serialisation story).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

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
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:sign-in"

# Sign-in throttle: this many failures for one user name or one address inside the window
# locks further attempts until the window has passed.
SIGN_IN_MAX_FAILURES = env_int("MESOCLINIC_SIGN_IN_MAX_FAILURES", 5)
SIGN_IN_WINDOW_SECONDS = env_int("MESOCLINIC_SIGN_IN_WINDOW_SECONDS", 900)

SESSION_COOKIE_AGE = env_int("MESOCLINIC_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: console in development; SMTP (or any Django backend) in production.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)  # seconds; must stay well under MESOCLINIC_MESSAGE_LEASE_SECONDS
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Mesoclinic <no-reply@localhost>")

# Background work: Django's task API on the database queue (`manage.py db_worker`).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("MESOCLINIC_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Security hardening, on by default whenever DEBUG is off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Logging: requests and errors go to stderr; no request bodies, no patient data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MESOCLINIC_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

MESOCLINIC_DEMO_PASSWORD = os.environ.get("MESOCLINIC_DEMO_PASSWORD", "meso-demo-2026")
MESOCLINIC_PAGE_SIZE = env_int("MESOCLINIC_PAGE_SIZE", 25)
# Stock: lots expiring within this many days are listed as expiring soon (inventory app).
MESOCLINIC_EXPIRY_WARNING_DAYS = env_int("MESOCLINIC_EXPIRY_WARNING_DAYS", 60)
# The session chart: each treated area records its needle/cartridge lot (docs/decisions/0021).
MESOCLINIC_REQUIRE_CONSUMABLE_LOTS = env_bool("MESOCLINIC_REQUIRE_CONSUMABLE_LOTS", True)
# Days a full contraindication screening stays valid (about six months by default).
MESOCLINIC_SCREENING_VALID_DAYS = env_int("MESOCLINIC_SCREENING_VALID_DAYS", 182)

# Scheduling: reminder lead times (hours before the appointment, comma-separated).
MESOCLINIC_REMINDER_LEAD_HOURS = [int(hours) for hours in env_list("MESOCLINIC_REMINDER_LEAD_HOURS", "48,2")]

# Outbound messages (messaging app, docs/decisions/0010): SMS sender and delivery retries.
MESOCLINIC_SMS_BACKEND = os.environ.get("MESOCLINIC_SMS_BACKEND", "console")
MESOCLINIC_SMS_HTTP_URL = os.environ.get("MESOCLINIC_SMS_HTTP_URL", "")
MESOCLINIC_SMS_HTTP_TOKEN = os.environ.get("MESOCLINIC_SMS_HTTP_TOKEN", "")
MESOCLINIC_SMS_FILE_PATH = os.environ.get("MESOCLINIC_SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))
MESOCLINIC_MESSAGE_MAX_ATTEMPTS = env_int("MESOCLINIC_MESSAGE_MAX_ATTEMPTS", 5)
MESOCLINIC_MESSAGE_RETRY_SECONDS = env_int("MESOCLINIC_MESSAGE_RETRY_SECONDS", 60)
MESOCLINIC_MESSAGE_LEASE_SECONDS = env_int("MESOCLINIC_MESSAGE_LEASE_SECONDS", 300)
MESOCLINIC_MESSAGE_SWEEP_SECONDS = env_int("MESOCLINIC_MESSAGE_SWEEP_SECONDS", 60)

# Aftercare (docs/decisions/0018): check-in links, the unanswered list, and the public address in messages.
MESOCLINIC_CHECKIN_LINK_HOURS = env_int("MESOCLINIC_CHECKIN_LINK_HOURS", 72)
MESOCLINIC_CHECKIN_UNANSWERED_HOURS = env_int("MESOCLINIC_CHECKIN_UNANSWERED_HOURS", 12)
# Unset, it is the development server's own address: `PORT=8101 make run` links to port 8101.
MESOCLINIC_PUBLIC_URL = os.environ.get("MESOCLINIC_PUBLIC_URL") or f"http://127.0.0.1:{env_int('PORT', 8000)}"
