"""The one settings module. Every value that differs between deployments comes
from the environment through the typed readers in ``truyvet.core.env``;
``.env.example`` documents each of them (a test keeps the two in step).
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from truyvet.core.env import Env, env_file_load
from truyvet.core.signing import parse_signing_keys

BASE_DIR = Path(__file__).resolve().parent.parent
# The project's .env (or TRUYVET_ENV_FILE), under what the environment sets.
env_file_load(BASE_DIR / ".env")
env = Env()
VAR_DIR = Path(env.str("TRUYVET_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Production mode switches on every hardening setting and refuses to start
# without an explicit SECRET_KEY and ALLOWED_HOSTS.
PRODUCTION = env.bool("TRUYVET_PRODUCTION", False)
DEBUG = env.bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when TRUYVET_PRODUCTION is on.")


def _development_secret_key() -> str:
    """A key generated once per checkout and kept under ./var, so sessions
    survive restarts without anyone having to invent a secret."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env.required_str("SECRET_KEY") if PRODUCTION else env.str("SECRET_KEY", "")
if not SECRET_KEY:
    SECRET_KEY = _development_secret_key()
# Rotation (docs/deploy.md): the new key goes in SECRET_KEY, the old one here,
# so sessions and reset links signed with it stay valid until they expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when TRUYVET_PRODUCTION is on.")

# The address citizens reach: venue QR codes and SMS links are built from it.
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "truyvet.core",
    "truyvet.places",
    "truyvet.accounts",
    "truyvet.venues",
    "truyvet.checkins",
    "django_q",
    "truyvet.tracing",
    "truyvet.reports",
    "truyvet.certificates",
    "truyvet.vaccination",
    "truyvet.declarations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "truyvet.core.middleware.ContentSecurityPolicyMiddleware",
    # Outside everything that may touch the database (sessions, auth, views).
    "truyvet.core.middleware.DatabaseFaultMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # HTML compressed (static files come compressed from WhiteNoise above,
    # which answers before this). BREACH: see decision 0020.
    "truyvet.core.middleware.HtmlGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "truyvet.core.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "truyvet.urls"
WSGI_APPLICATION = "truyvet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "truyvet" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "truyvet.site.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'truyvet.sqlite3'}")
_database = dj_database_url.parse(
    DATABASE_URL, conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE takes the
    # write lock at BEGIN so concurrent writers queue on busy_timeout instead
    # of failing with "database is locked" half-way through a transaction.
    # Connections are kept (DATABASE_CONN_MAX_AGE) as on PostgreSQL: opening
    # one runs these pragmas and registers Django's SQL functions, which
    # doubled the CPU cost of a check-in (bench/checkin_http.py).
    _database["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _database["ENGINE"] == "django.db.backends.postgresql":
    _database["CONN_HEALTH_CHECKS"] = True
    _database.setdefault("OPTIONS", {})
    _database["OPTIONS"].setdefault("connect_timeout", 5)
else:
    raise ImproperlyConfigured("DATABASE_URL must point at SQLite or PostgreSQL.")
_database["ATOMIC_REQUESTS"] = False
_database["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", "") or None}
DATABASES = {"default": _database}
# A streaming replica of the primary for dashboard and report reads; see
# truyvet.core.db_router for what is routed there (writes never are).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=_database["CONN_MAX_AGE"])
    if _replica["ENGINE"] != _database["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must use the same database engine as DATABASE_URL."
        )
    _replica.setdefault("OPTIONS", {})
    for _option, _value in _database.get("OPTIONS", {}).items():
        _replica["OPTIONS"].setdefault(_option, _value)
    _replica["CONN_HEALTH_CHECKS"] = _database.get("CONN_HEALTH_CHECKS", False)
    _replica["ATOMIC_REQUESTS"] = False
    # Under test the alias reads the primary's test database.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["truyvet.core.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every app instance, never per-process ---------------
# Rate limits and lockouts live here, so the default is the database (works
# with one SQLite file or a cluster); REDIS_URL moves them to Redis.
REDIS_URL = env.str("REDIS_URL", "")
if REDIS_URL and importlib.util.find_spec("redis") is None:
    raise ImproperlyConfigured("REDIS_URL needs the redis package (pip install redis).")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "truyvet_cache",
        }
    }

# --- Accounts ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Passwords for phone numbers (pages), then API bearer tokens (core.api_auth).
AUTHENTICATION_BACKENDS = [
    "truyvet.accounts.backends.PhoneBackend",
    "truyvet.accounts.backends.TokenBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", 300, minimum=60, maximum=3600)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", 5, minimum=1)
OTP_MAX_PER_HOUR = env.int("OTP_MAX_PER_HOUR", 5, minimum=1)
OTP_RESEND_SECONDS = env.int("OTP_RESEND_SECONDS", 60, minimum=0)
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", 900, minimum=60)
RATELIMIT_PER_IP_PER_HOUR = env.int("RATELIMIT_PER_IP_PER_HOUR", 60, minimum=1)
REGISTER_PER_IP_PER_HOUR = env.int("REGISTER_PER_IP_PER_HOUR", 60, minimum=1)
REGISTER_PER_ID_PER_DAY = env.int("REGISTER_PER_ID_PER_DAY", 10, minimum=2)
STAFF_INVITES_PER_VENUE_PER_HOUR = env.int("STAFF_INVITES_PER_VENUE_PER_HOUR", 20, minimum=1)
STAFF_INVITES_PER_PHONE_PER_DAY = env.int("STAFF_INVITES_PER_PHONE_PER_DAY", 5, minimum=1)

# --- SMS gateway ------------------------------------------------------------
SMS_BACKEND = env.choice("SMS_BACKEND", "console", {"console", "file", "memory", "http"})
SMS_FILE_DIR = Path(env.str("SMS_FILE_DIR", str(VAR_DIR / "sms")))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", "")
SMS_SENDER = env.str("SMS_SENDER", "TRUYVET")
if SMS_BACKEND == "http" and not SMS_HTTP_URL:
    raise ImproperlyConfigured("SMS_HTTP_URL must be set when SMS_BACKEND is http.")
# The console backend prints one-time codes, which would land in the service's
# logs; memory drops every message.
if PRODUCTION and SMS_BACKEND in {"console", "memory"}:
    raise ImproperlyConfigured(
        "SMS_BACKEND must be http (or file) when TRUYVET_PRODUCTION is on."
    )

# --- Signing keys ----------------------------------------------------------------
# Venue QR codes carry a truncated HMAC-SHA256 under a key id, so posters stay
# small enough to scan from a distance. Format: "kid:secret,kid2:secret2"; the
# first key signs, every listed key verifies (rotation = prepend a new key).
QR_SIGNING_KEYS = env.str("QR_SIGNING_KEYS", "")
if PRODUCTION and not QR_SIGNING_KEYS:
    raise ImproperlyConfigured("QR_SIGNING_KEYS must be set when TRUYVET_PRODUCTION is on.")
parse_signing_keys(QR_SIGNING_KEYS)  # a malformed value stops start-up, not the first scan
# Personal QR tokens are Ed25519-signed so a controller verifies them offline
# with the public key. A base64 raw 32-byte private key; generated under ./var
# in development.
PERSONAL_QR_PRIVATE_KEY = env.str("PERSONAL_QR_PRIVATE_KEY", "")
if PRODUCTION and not PERSONAL_QR_PRIVATE_KEY:
    raise ImproperlyConfigured(
        "PERSONAL_QR_PRIVATE_KEY must be set when TRUYVET_PRODUCTION is on."
    )

# --- Declarations and checkpoints (issue 14) ------------------------------------------
# How long a declaration's QR is valid after the declaration (VNEID's was 3 days).
DECLARATION_QR_VALID_HOURS = env.int("DECLARATION_QR_VALID_HOURS", 72, minimum=1, maximum=720)
# Days declarations and checkpoint passes are kept before the scheduled purge.
DECLARATION_RETENTION_DAYS = env.int("DECLARATION_RETENTION_DAYS", 21, minimum=1, maximum=365)

# --- Check-ins ------------------------------------------------------------------------
CHECKIN_RETENTION_DAYS = env.int("CHECKIN_RETENTION_DAYS", 21, minimum=1, maximum=365)
# PostgreSQL: daily partitions of the check-in table are created this many local
# days ahead by the daily upkeep job, so that no scan waits for DDL (decision 0007).
CHECKIN_PARTITION_DAYS_AHEAD = env.int("CHECKIN_PARTITION_DAYS_AHEAD", 7, minimum=1, maximum=60)
# The check-in hot path keeps venues read by their QR code in memory this many seconds:
# a venue QR revoked (or a venue suspended) through another instance is refused here
# within this bound, through this instance at once (decision 0013). 0 turns it off.
VENUE_QR_CACHE_SECONDS = env.int("VENUE_QR_CACHE_SECONDS", 5, minimum=0, maximum=60)
# Bearer tokens checked in the database are remembered in memory this many seconds: a
# token revoked (or an account deactivated) through another instance is refused here
# within this bound, through this instance at once (decision 0013). 0 turns it off.
ACCESS_TOKEN_CACHE_SECONDS = env.int("ACCESS_TOKEN_CACHE_SECONDS", 5, minimum=0, maximum=60)
# Scans of the same person at the same venue within this window are one visit.
CHECKIN_MERGE_MINUTES = env.int("CHECKIN_MERGE_MINUTES", 30, minimum=0, maximum=720)
# Offline uploads may carry device times this far in the future.
CHECKIN_MAX_CLOCK_SKEW_SECONDS = env.int("CHECKIN_MAX_CLOCK_SKEW_SECONDS", 300, minimum=0)
# How old a door scan (staff scan or manual entry) may be when it reaches the server
# from a new venue or from staff without a track record. The controller's offline
# queue (checkins/static/checkins/controller.js) lives in the door page and is sent
# when that page is next open with a network: after a shift without signal, a night,
# or a weekend-long market day. Older door scans are refused there (an older scan is
# a backdated visit, the way to plant one in someone's history). Venues and staff
# with a track record keep the whole retention period (docs/decisions/0003).
CHECKIN_OFFLINE_WINDOW_HOURS = env.int("CHECKIN_OFFLINE_WINDOW_HOURS", 72, minimum=1,
                                       maximum=24 * 21)
# Days a venue (since its staff may scan) and a staff member (since being added)
# must have behind them before the offline window above stops applying to them.
CHECKIN_TRACK_RECORD_DAYS = env.int("CHECKIN_TRACK_RECORD_DAYS", 14, minimum=0, maximum=365)
# Rate limits on check-in endpoints, per minute; 0 switches one off (load tests).
# Carrier-grade NAT puts many phones behind one address, so the per-address
# limit is generous; the per-account limits stop one login from flooding.
CHECKIN_RATELIMIT_IP_PER_MINUTE = env.int("CHECKIN_RATELIMIT_IP_PER_MINUTE", 120, minimum=0)
CHECKIN_RATELIMIT_USER_PER_MINUTE = env.int("CHECKIN_RATELIMIT_USER_PER_MINUTE", 20, minimum=0)
CHECKIN_RATELIMIT_STAFF_PER_MINUTE = env.int(
    "CHECKIN_RATELIMIT_STAFF_PER_MINUTE", 240, minimum=0
)
# Largest camera frame the server decodes for browsers without BarcodeDetector.
CHECKIN_DECODE_MAX_BYTES = env.int(
    "CHECKIN_DECODE_MAX_BYTES", 2 * 1024 * 1024, minimum=10 * 1024
)

# --- Certificates (EU DCC and SMART Health Card verification) ---------------------
# Verifications and camera frames per minute from one address (the verifier
# page is public; a checkpoint's phones may share one address). 0: no limit.
CERT_VERIFY_RATELIMIT_IP_PER_MINUTE = env.int(
    "CERT_VERIFY_RATELIMIT_IP_PER_MINUTE", 300, minimum=0
)
# Largest image (a photo of a QR, a camera frame) the verifier decodes.
CERT_IMAGE_MAX_BYTES = env.int("CERT_IMAGE_MAX_BYTES", 4 * 1024 * 1024, minimum=10 * 1024)
# Private keys of our DSCs (issuing/keys.py): DCC_SIGNING_KEY_<NAME> variables, else
# <name>.pem files in this folder. Never in the database.
DCC_SIGNING_KEYS_DIR = Path(env.str("DCC_SIGNING_KEYS_DIR", str(VAR_DIR / "dcc-keys")))

# --- Background tasks (django-q2) -------------------------------------------------
# The queue lives in the default database (ORM broker), so it works the same on
# SQLite and PostgreSQL with nothing else to run but `truyvet worker`.
Q_CLUSTER = {
    "name": "truyvet",
    "orm": "default",
    "workers": env.int("TASK_WORKERS", 2, minimum=1, maximum=64),
    "timeout": 600,
    "retry": 900,  # must exceed timeout
    "max_attempts": 3,
    "catch_up": False,  # after downtime run a missed daily job once, not once per day
    "sync": env.bool("TASK_SYNC", False),  # true: run tasks inline (debugging only)
    "label": "Tasks",
}

# --- Venues ---------------------------------------------------------------------------
# false (default, the 2021 practice): a self-registered venue is active at once and
# officers suspend it if needed; true: it waits as pending until an officer approves
# it (see docs/decisions/0003-venue-approval.md).
VENUE_REQUIRE_APPROVAL = env.bool("VENUE_REQUIRE_APPROVAL", False)
# A venue its owner registered (or moved to another commune) takes its visitors' own
# scans at once, but its staff may record other people's visits (door scans, manual
# entries) only once an officer over its commune approves it or this many hours have
# passed, whichever comes first. Venues registered by an officer are approved at once.
VENUE_STAFF_CHECKIN_WAIT_HOURS = env.int("VENUE_STAFF_CHECKIN_WAIT_HOURS", 72, minimum=0,
                                         maximum=24 * 365)

# --- Tracing ---------------------------------------------------------------------------
# A contact is anyone at the same venue within this many minutes of the case's
# presence (Vietnam's rule, PC-Covid 2022: "scanned within 1 hour of the F0").
TRACING_BUFFER_MINUTES = env.int("TRACING_BUFFER_MINUTES", 60, minimum=0, maximum=720)
# A visit counts for at most this long after arrival, whatever its check-out says.
# It bounds the indexed range the exposure search reads, so it must cover the
# longest venue dwell time (lodging: 12 h); see docs/decisions/ on tracing.
TRACING_MAX_VISIT_MINUTES = env.int(
    "TRACING_MAX_VISIT_MINUTES", 1440, minimum=60, maximum=7 * 1440
)
# The infectious window starts this many days before symptom onset (or before
# the positive test when there are no symptoms).
TRACING_WINDOW_DAYS_BEFORE = env.int("TRACING_WINDOW_DAYS_BEFORE", 2, minimum=0, maximum=14)
# F2 expansion from chosen F1s: how deep (2 = F2 only, 3 = F3 too) and how many
# contacts one expansion may add at most.
TRACING_EXPAND_MAX_DEPTH = env.int("TRACING_EXPAND_MAX_DEPTH", 2, minimum=2, maximum=4)
TRACING_EXPAND_MAX_CONTACTS = env.int(
    "TRACING_EXPAND_MAX_CONTACTS", 500, minimum=1, maximum=100_000
)
# The number alerts tell contacts to call.
TRACING_HOTLINE = env.str("TRACING_HOTLINE", "1900 9095")

# --- Reports ------------------------------------------------------------------------------
# Levels whose units get a daily and a weekly PDF report from the worker (units
# with at least one venue): any of commune, district, province, nation.
REPORTS_SCHEDULED_LEVELS = env.list("REPORTS_SCHEDULED_LEVELS", ["district", "province"])
if set(REPORTS_SCHEDULED_LEVELS) - {"commune", "district", "province", "nation"}:
    raise ImproperlyConfigured(
        "REPORTS_SCHEDULED_LEVELS may list only commune, district, province and nation."
    )
# true: e-mail each scheduled report's link to the unit's report recipients.
REPORTS_EMAIL = env.bool("REPORTS_EMAIL", False)
# How long the dashboard page reuses a scope's figures (seconds; 0: never).
REPORTS_DASHBOARD_CACHE_SECONDS = env.int("REPORTS_DASHBOARD_CACHE_SECONDS", 60, minimum=0,
                                          maximum=3600)
# Seconds between two folds of new check-ins into the report rollups by the worker
# (decision 0022): how far dashboards may lag behind the scans.
REPORTS_ROLLUPS_FOLD_SECONDS = env.int("REPORTS_ROLLUPS_FOLD_SECONDS", 2, minimum=1,
                                       maximum=300)
# Reminders without a scan since, after which the inactive list flags a venue for
# suspension (Hanoi suspended venues after 3 in 2021).
REPORTS_REMINDERS_BEFORE_SUSPENSION = env.int(
    "REPORTS_REMINDERS_BEFORE_SUSPENSION", 3, minimum=1, maximum=100
)

# --- Vaccination (issue 15) -------------------------------------------------------------
# Coverage age groups: the lower bounds after "under the first", in years.
# "18,50,65" gives under 18, 18-49, 50-64 and 65+. Changing them needs
# `truyvet rebuild_coverage` (a person is counted in their group on the day).
VACCINATION_AGE_GROUPS = [int(value) for value in env.list("VACCINATION_AGE_GROUPS",
                                                           ["18", "50", "65"])
                          if value.isdigit()]
if not VACCINATION_AGE_GROUPS or any(not 0 < v < 130 for v in VACCINATION_AGE_GROUPS):
    raise ImproperlyConfigured("VACCINATION_AGE_GROUPS must list ages between 1 and 129.")
# Uploaded lists and correction evidence live here, outside the web root,
# served only through views that check who asks (and audit it).
VACCINATION_PRIVATE_DIR = Path(env.str("VACCINATION_PRIVATE_DIR", str(VAR_DIR / "private")))
# A site's list: the largest upload and how many rows it may have.
VACCINATION_IMPORT_MAX_BYTES = env.int("VACCINATION_IMPORT_MAX_BYTES", 40 * 1024 * 1024,
                                       minimum=64 * 1024)
VACCINATION_IMPORT_MAX_ROWS = env.int("VACCINATION_IMPORT_MAX_ROWS", 200_000, minimum=10)
# Evidence of a correction request: at most this many files of this size each.
VACCINATION_EVIDENCE_MAX_FILES = env.int("VACCINATION_EVIDENCE_MAX_FILES", 3, minimum=1,
                                         maximum=10)
VACCINATION_EVIDENCE_MAX_BYTES = env.int("VACCINATION_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024,
                                         minimum=64 * 1024)

# --- Notifications: outbox and e-mail ---------------------------------------------------
# SMS, e-mail and in-app messages are written to an outbox in the same
# transaction as the action that causes them; the worker delivers the due ones.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
# First retry after this many seconds, doubling each time (capped at one hour).
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", 60, minimum=1, maximum=3600)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", 200, minimum=1, maximum=10_000)
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[env.choice("EMAIL_BACKEND", "console", set(_EMAIL_BACKENDS))]
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", str(VAR_DIR / "email"))
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "truyvet <no-reply@localhost>")

# --- Language and time --------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "truyvet" / "locale"]
TIME_ZONE = env.str("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in TIME_ZONE

# --- Static files -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
# One stylesheet a page: truyvet.core.bundles joins an app's CSS to the site's.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "truyvet.core.bundles.BundleFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Hardening ----------------------------------------------------------------
# Behind a TLS-terminating proxy the scheme arrives in X-Forwarded-Proto.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", PRODUCTION)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app append to X-Forwarded-For (nginx
# alone: 1; a CDN or load balancer before nginx: 2). The client's address,
# which keys the rate limits, is that many entries from the right.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", 1, minimum=1, maximum=10)
SESSION_COOKIE_SECURE = BEHIND_TLS_PROXY
CSRF_COOKIE_SECURE = BEHIND_TLS_PROXY
SECURE_SSL_REDIRECT = BEHIND_TLS_PROXY
SECURE_HSTS_SECONDS = 31536000 if BEHIND_TLS_PROXY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = BEHIND_TLS_PROXY
SECURE_HSTS_PRELOAD = False
# Preloading is the domain owner's decision (hstspreload.org), not the app's:
# `check --deploy` need not remind every installation of it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Load balancers and nginx probe the health endpoint over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (truyvet.core.middleware; Django 6.0's SECURE_CSP
# shape). No inline script or style anywhere: page behaviour lives in static
# files, htmx runs with allowEval off. "<nonce>" admits a template's
# nonce="{{ request.csp_nonce }}" script should one ever be unavoidable.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "<nonce>"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "worker-src": ["'self'"],
    "manifest-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
}
