"""Configuration, read from environment variables: the one place Convene reads the environment.

`Config` has safe development defaults (SQLite under instance/, mail to a local outbox folder).
`ProductionConfig` adds secure cookies and HSTS and refuses to start with the development secret.
`TestConfig` turns off every outbound side effect unless a test asks for it.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"
DEV_SECRET_KEY = "dev-only-secret-change-me"


def database_url(url: str | None) -> str:
    """A SQLAlchemy URL: SQLite under instance/ by default, psycopg 3 for PostgreSQL."""
    if not url:
        return f"sqlite:///{INSTANCE / 'convene.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _package_version() -> str:
    try:
        return metadata.version("convene")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class Config:
    """Development defaults; every value can be set from the environment."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # Earlier keys, comma-separated: links and sessions they signed still work (key rotation).
    SECRET_KEY_FALLBACKS = tuple(
        key for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key
    )
    DATABASE_URL = database_url(os.environ.get("DATABASE_URL"))
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    COALITION_NAME = os.environ.get("COALITION_NAME", "Convene")
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "UTC")
    LANGUAGES = ("en",)
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "app" / "translations")

    # Mail: an SMTP server when MAIL_SERVER is set, otherwise files in MAIL_OUTBOX_DIR.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Convene <convene@localhost>")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE / "outbox"))
    MAIL_BATCH_SIZE = _int("MAIL_BATCH_SIZE", 200)
    # A delivery claimed by a sender that died is claimed again after this long.
    MAIL_CLAIM_LEASE_SECONDS = _int("MAIL_CLAIM_LEASE_SECONDS", 900)
    SCHEDULER_OUTBOX_SECONDS = float(os.environ.get("SCHEDULER_OUTBOX_SECONDS", "5"))

    # Rate limits: "memory://" holds for one process; "redis://host:port" holds across workers.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5 per minute")
    LOGIN_FAILURES_PER_IP = os.environ.get("LOGIN_FAILURES_PER_IP", "5 per minute")
    # Keys in a shared Redis start with this, so that several sites (or test runs) can share one.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "convene")
    # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = _int("PROXY_COUNT", 0)

    # PostgreSQL connections of each process (app/db.py): a pool per process, so a web server
    # opens up to workers x (size + overflow) connections; keep that under max_connections.
    DATABASE_POOL_SIZE = _int("DATABASE_POOL_SIZE", 5)
    DATABASE_MAX_OVERFLOW = _int("DATABASE_MAX_OVERFLOW", 5)
    DATABASE_POOL_TIMEOUT = _int("DATABASE_POOL_TIMEOUT", 10)  # seconds waiting for a connection
    DATABASE_POOL_RECYCLE = _int("DATABASE_POOL_RECYCLE", 1800)  # seconds before reconnecting
    DATABASE_CONNECT_TIMEOUT = _int("DATABASE_CONNECT_TIMEOUT", 5)

    # Logs (app/logs.py): "text" for people, "json" for one object per line; "" leaves logging
    # as the host process set it up (the tests do).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # /healthz (app/health.py): a newer scheduler heartbeat than this (seconds) is "ok".
    HEALTHZ_MAX_HEARTBEAT_AGE = float(os.environ.get("HEALTHZ_MAX_HEARTBEAT_AGE", "120"))
    HEALTHZ_DATABASE_TIMEOUT = float(os.environ.get("HEALTHZ_DATABASE_TIMEOUT", "2"))
    # Shown by /healthz and /api/: the installed package's version unless set (say, a commit).
    VERSION = os.environ.get("CONVENE_VERSION") or _package_version()

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    HSTS = False
    WTF_CSRF_TIME_LIMIT = None
    # How often each process checks whether cached pages and feeds are still current.
    CACHE_CHECK_SECONDS = float(os.environ.get("CACHE_CHECK_SECONDS", "1"))
    CALL_HORIZON_MONTHS = _int("CALL_HORIZON_MONTHS", 12)
    # A folder to publish every feed to after each change (docs/feeds.md); empty: off.
    FEEDS_PUBLISH_DIR = os.environ.get("FEEDS_PUBLISH_DIR", "")
    # Publish in a background thread, so that the request that committed does not wait.
    FEEDS_PUBLISH_IN_BACKGROUND = True


class ProductionConfig(Config):
    """Secure cookies and HSTS; create_app refuses the development secret."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    """No outbound side effects; each test suite chooses its database."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret"
    DATABASE_URL = "sqlite://"
    BASE_URL = "http://localhost"
    MAIL_SERVER = ""
    MAIL_OUTBOX_DIR = ""
    RATELIMIT_STORAGE_URI = "memory://"
    PROXY_COUNT = 0
    LOG_FORMAT = ""  # pytest captures logs itself
    CACHE_CHECK_SECONDS = 0.0
    FEEDS_PUBLISH_DIR = ""
    FEEDS_PUBLISH_IN_BACKGROUND = False  # tests publish in the thread that committed


CONFIGS = {"development": Config, "production": ProductionConfig, "test": TestConfig}


def config_from_env() -> type[Config]:
    """The config class named by CONVENE_ENV (development, production or test)."""
    name = os.environ.get("CONVENE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"CONVENE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}"
        ) from None
