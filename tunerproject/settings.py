"""Settings for LLM Tuner, read from the environment.

With no variables set this runs as a development checkout: DEBUG on, SQLite under var/, media
under media/, emails printed to the console. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS
and DATABASE_URL (see README.md, "Configuration").
"""

import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from jobs.engine.constants import DEFAULT_WORKER_PRICES_PER_HOUR
from tunerproject.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_prices,
    env_rate,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"
elif len(SECRET_KEY) < 50 and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
if not DEBUG and not env_list("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    # Before django_q: its `qcluster` command is replaced by jobs' own, which stops cleanly.
    "jobs",
    "django_q",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tunerproject.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tunerproject.urls"
WSGI_APPLICATION = "tunerproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jobs.notifications.context.notifications_menu",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": parse_database_url(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets the web server read while a worker writes metrics.
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counts must be shared by every gunicorn process and web host, so the cache lives in
# the database every process already reaches (its table is made by a migration); a per-process
# memory cache would give each process its own allowance.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "tuner_cache",
        # Room for every client's counts: culling at the default 300 entries would forget the
        # history of an address that is being throttled.
        "OPTIONS": {"MAX_ENTRIES": 200_000},
    }
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    # 0.6 (Django's default is 0.7) also refuses a username with digits added: dave1234 for dave.
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"max_similarity": 0.6},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 8, minimum=1)},
    },
    {"NAME": "accounts.passwords.LargeCommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Off: the sign-up page is closed; staff create accounts in the admin and invite by email.
SIGNUP_OPEN = env_bool("SIGNUP_OPEN", True)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Failed sign-ins allowed per username and per IP address within the window before lock-out.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# One address trying many accounts, and one account tried from many addresses (accounts/lockout.py)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 50, minimum=1)
# Size of a worker's cache of tokenised datasets (WORKER_SCRATCH_DIR/tokens): the least
# recently used stores go when a job starts and the cache is over it.
WORKER_TOKEN_CACHE_MB = env_int("WORKER_TOKEN_CACHE_MB", 2048, minimum=1)
# Days failed sign-ins and the audit log are kept (accounts/tasks.py prunes them hourly)
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 90, minimum=1)
# Days an invitation by email (to a team, or to a job's share) waits for its address to sign in
INVITATION_DAYS = env_int("INVITATION_DAYS", 14, minimum=1)
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30, minimum=1)

# Throttles: requests allowed per user (or the username/email a signed-out form names) and per IP
# address. Over the rate the answer is 429 with Retry-After (accounts/throttles.py).
THROTTLE_RATES = {
    f"{action}_{scope}": env_rate(f"THROTTLE_{action.upper()}_{scope.upper()}", default)
    for (action, scope), default in {
        ("token", "user"): "10/min",
        ("token", "ip"): "30/min",
        ("signup", "user"): "3/hour",
        ("signup", "ip"): "10/hour",
        ("password_reset", "user"): "3/hour",
        ("password_reset", "ip"): "10/hour",
        ("upload", "user"): "30/hour",
        ("upload", "ip"): "60/hour",
        ("launch", "user"): "60/hour",
        ("launch", "ip"): "120/hour",
        ("generate", "user"): "30/min",
        ("generate", "ip"): "60/min",
        # Adding people to a team or a job's shares (an email address is mailed an invitation)
        ("invite", "user"): "30/hour",
        ("invite", "ip"): "60/hour",
    }.items()
}

# --- Files ----------------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media").resolve()
# Uploads and models are private: they are served by views that check the owner, never by URL.
MEDIA_URL = "/media-not-served/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploads stream to a temporary file
# Largest request body that is not a file (JSON, forms): larger ones are a 413 (API) or 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_BODY_MAX_KB", 5120, minimum=1) * 1024
DATASET_MAX_UPLOAD_MB = env_int("DATASET_MAX_UPLOAD_MB", 1024, minimum=1)
# Per user: datasets, checkpoints, models and zips together; jobs waiting and running at once.
USER_STORAGE_QUOTA_MB = env_int("USER_STORAGE_QUOTA_MB", 5120, minimum=1)
USER_MAX_QUEUED_JOBS = env_int("USER_MAX_QUEUED_JOBS", 10, minimum=1)
USER_MAX_RUNNING_JOBS = env_int("USER_MAX_RUNNING_JOBS", 2, minimum=1)
DATASET_MIN_EXAMPLES = env_int("DATASET_MIN_EXAMPLES", 10, minimum=1)

# --- Training -------------------------------------------------------------------------------
# Folder where an operator keeps pretrained models for hosts without network access.
BASE_MODELS_DIR = env_str("BASE_MODELS_DIR") or str(BASE_DIR / "var" / "models")
JOB_HEARTBEAT_TIMEOUT_S = env_int("JOB_HEARTBEAT_TIMEOUT_S", 120, minimum=10)
JOB_MAX_RESTARTS = env_int("JOB_MAX_RESTARTS", 3, minimum=0)
JOB_CHECKPOINTS_KEPT = env_int("JOB_CHECKPOINTS_KEPT", 2, minimum=1)
WORKER_KIND = env_str("WORKER_KIND", "cpu")
# Price per hour of each kind of worker, used for cost estimates: "cpu=0.10,h100=2.50".
WORKER_PRICES_PER_HOUR = env_prices("WORKER_PRICES_PER_HOUR", DEFAULT_WORKER_PRICES_PER_HOUR)
WORKER_PRICE_CURRENCY = env_str("WORKER_PRICE_CURRENCY", "USD")
# The pool this worker serves (cpu, gpu, gpu-80gb...): it claims only that pool's jobs, from
# django-q2's queue of the same name ("cpu" is the default queue). See README "Scaling".
WORKER_POOL = env_str("WORKER_POOL", "cpu")
DEFAULT_POOL = "cpu"
# A run that makes no step for this long while its heartbeat lives is stopped (0: never).
JOB_STALL_TIMEOUT_S = env_int("JOB_STALL_TIMEOUT_S", 1800, minimum=0)
# Preemption: on SIGTERM a worker checkpoints and requeues its job within this many seconds.
JOB_PREEMPT_GRACE_S = env_int("JOB_PREEMPT_GRACE_S", 30, minimum=1)
# A worker's own local folder: with an object store, what it trains on and writes before
# uploading; always, its cache of tokenised datasets under tokens/ (per dataset and tokenizer),
# so a clone, a resumed or a repeated job does not tokenise again.
WORKER_SCRATCH_DIR = Path(
    env_str("WORKER_SCRATCH_DIR") or Path(tempfile.gettempdir()) / "llm-tuner-scratch"
)
# Memory of a worker's device for estimates; 0: the web host's available RAM on CPU workers, the
# GPU type's usual size on CUDA workers (the web process never initialises CUDA to ask).
WORKER_DEVICE_MEMORY_MB = env_int("WORKER_DEVICE_MEMORY_MB", 0, minimum=0)

# --- Inference (jobs/playground/pool.py) ----------------------------------------------------
# host:port of `manage.py inference`; empty: generate inside the web process (tests, embedded).
INFERENCE_ADDRESS = env_str("INFERENCE_ADDRESS", "")
INFERENCE_SLOTS = env_int("INFERENCE_SLOTS", 1, minimum=1)  # generations running at once
INFERENCE_QUEUE = env_int("INFERENCE_QUEUE", 4, minimum=1)  # admitted at once, running or waiting
INFERENCE_PER_USER = env_int("INFERENCE_PER_USER", 2, minimum=1)  # admitted at once per user
INFERENCE_WEB_CALLS = env_int("INFERENCE_WEB_CALLS", 2, minimum=1)  # per web process
INFERENCE_TIMEOUT_S = env_int("INFERENCE_TIMEOUT_S", 120, minimum=1)
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 1, minimum=1)  # torch threads of the pool

# --- Queue (django-q2) ----------------------------------------------------------------------
# The job row is the source of truth; the broker only delivers. See DESIGN.md, "Worker".
Q_TASK_TIMEOUT_S = env_int("Q_TASK_TIMEOUT_S", 7 * 24 * 3600, minimum=60)
Q_CLUSTER = {
    "name": "llmtuner",
    "orm": "default",
    # The ORM broker, handing a cluster no more tasks than it has workers (jobs/fleet/broker.py).
    "broker_class": "jobs.fleet.broker.OneTaskPerWorker",
    "workers": env_int("Q_WORKERS", 1, minimum=1),
    "recycle": 1,  # a fresh process per job: memory from one model never leaks into the next
    "timeout": Q_TASK_TIMEOUT_S,
    "retry": Q_TASK_TIMEOUT_S + 600,
    "max_attempts": 1,
    "queue_limit": 2,
    "catch_up": False,
    "poll": env_float("Q_POLL_S", 1.0, minimum=0.1),
    "sync": env_bool("Q_SYNC", False),
    "save_limit": 1000,
    "ack_failures": True,
    # A worker of pool P runs `Q_CLUSTER_NAME=P manage.py qcluster` (WORKER_POOL=P sets it) and
    # serves queue P; django-q2 pops ALT_CLUSTERS whenever Q_CLUSTER_NAME is set.
    "ALT_CLUSTERS": {WORKER_POOL: {}},
}
if WORKER_POOL != DEFAULT_POOL:
    os.environ.setdefault("Q_CLUSTER_NAME", WORKER_POOL)

# --- Object storage (django-storages) -------------------------------------------------------
# Unset: files in MEDIA_ROOT. Set: uploads, checkpoints, models and zips in any S3-compatible
# store (AWS S3, MinIO, Ceph, R2; moto in tests), under django-storages' own variable names.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
    AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
    AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
    AWS_DEFAULT_ACL = None  # private objects: only presigned URLs reach them
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 300, minimum=10)
    AWS_S3_FILE_OVERWRITE = True  # keys are generated or fixed per job: a retry overwrites
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "LLM Tuner <noreply@localhost>")

# --- Notifications (jobs/notifications/) ---------------------------------------------------
# The portal's address as users reach it: links in emails and URLs in webhook bodies.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")
# Webhook targets that resolve to private, loopback or link-local addresses are refused unless
# this is on (tests, or an operator whose receivers live on the internal network).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT_S = env_int("WEBHOOK_TIMEOUT_S", 10, minimum=1)  # a whole attempt, read included
WEBHOOK_RESPONSE_MAX_BYTES = env_int("WEBHOOK_RESPONSE_MAX_BYTES", 65536, minimum=1)
# Attempts per event, the first at once, then after 90 s, 3 min, 6 min... doubling: the last of
# 11 comes about 26 hours after the first.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 11, minimum=1)
WEBHOOK_RETRY_BASE_S = env_int("WEBHOOK_RETRY_BASE_S", 90, minimum=1)
WEBHOOKS_PER_USER = env_int("WEBHOOKS_PER_USER", 10, minimum=1)
# The django-q2 cluster that sends emails and webhooks ("" = the default queue, where they wait
# behind a training job when every worker is busy; see README, "Notifications").
NOTIFY_CLUSTER = env_str("NOTIFY_CLUSTER", "")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.ReadOnlyTokenPermission",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "tunerproject.parsers.JSONParser",
        "tunerproject.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "tunerproject.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "tunerproject.schema.TunerAutoSchema",
    "EXCEPTION_HANDLER": "tunerproject.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Tuner API",
    "DESCRIPTION": "Fine-tune GPT-2-family models: datasets, base models, jobs, metrics.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from validator.swagger.io: the CSP allows images from this site only.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # A text field the server refuses blank says so (minLength 1; see tunerproject.schema).
    "ENFORCE_NON_BLANK_FIELDS": True,
    # Jobs and datasets both have a `status`: each its own named enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.models.Job.Status",
        "DatasetStatusEnum": "jobs.models.Dataset.Status",
        "TeamRoleEnum": "accounts.teams.models.Role",
        "ChatRoleEnum": [("user", "user"), ("assistant", "assistant")],
    },
}

# --- Security -------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "tunerproject.log_filters.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 or 404 is one line, not a traceback (tunerproject/log_filters.py).
        "django.request": {"filters": ["client_errors"]},
    },
}

# Evaluations (jobs/evaluations): how many held-out examples a finished job's automatic
# evaluation takes, and the most examples any evaluation may ask for.
EVAL_SAMPLE_SIZE = env_int("EVAL_SAMPLE_SIZE", 64, minimum=1)
EVAL_MAX_EXAMPLES = env_int("EVAL_MAX_EXAMPLES", 2000, minimum=1)
