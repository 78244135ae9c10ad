"""Env-driven configuration. `create_app(config)` takes one of these classes."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


MIN_SECRET_BYTES = 32
# where a secret pasted from the project's own text would be found
SOURCE_GLOBS = ("*.py", "*.md", "*.toml", "*.cfg", "*.txt", "Makefile", ".env*", "*.example")


def _source_files():
    for pattern in SOURCE_GLOBS:
        yield from BASE_DIR.glob(pattern)
    for folder in ("asset_registry", "tests", "bench", "migrations", "templates"):
        yield from (p for p in (BASE_DIR / folder).rglob("*") if p.is_file())


def weak_secret_reason(secret: str) -> str | None:
    """Why `secret` must not sign production sessions, or None: too short, or found
    anywhere in the project's own files (a key from the source is a key for everyone)."""
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        return f"shorter than {MIN_SECRET_BYTES} bytes"
    needle = secret.encode("utf-8")
    for path in _source_files():
        try:
            if needle in path.read_bytes():
                return "it appears in the project's source"
        except OSError:
            continue
    return None


def instance_secret(instance_dir: str | Path) -> str:
    """A random key generated once into the instance folder and reused after (development
    and any deployment that sets no SECRET_KEY of its own outside production)."""
    path = Path(instance_dir) / "secret_key"
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) < MIN_SECRET_BYTES:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
    return key


class Config:
    # None: development generates a random key once into the instance folder
    # (see asset_registry.secrets); production refuses to start without a strong one
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    INSTANCE_PATH = str(INSTANCE_DIR)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'asset_registry.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL: the ordinary role the app acts as (row-level security does not apply
    # to superusers); unset when the URL's user is that role already
    DATABASE_ROLE = os.environ.get("DATABASE_ROLE")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 20 * 1024 * 1024))
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 200_000))
    IMPORT_BACKGROUND_ROWS = int(os.environ.get("IMPORT_BACKGROUND_ROWS", 2_000))
    # a label sheet with more labels than this is rendered in the background
    LABELS_INLINE_MAX = int(os.environ.get("LABELS_INLINE_MAX", 2_000))
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # sign-in throttle: failures per account, and (looser) per address, in the window
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 50))
    LOGIN_WINDOW_MINUTES = int(os.environ.get("LOGIN_WINDOW_MINUTES", 15))
    # addresses or networks of the reverse proxies whose X-Forwarded-* headers are believed
    # (comma-separated, e.g. "127.0.0.1,10.0.0.0/24"); empty: no proxy, headers ignored
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "asset-registry@localhost")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", 10))
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", 5))
    # internal destinations a webhook may reach (host names, addresses or networks,
    # comma-separated); every other private/loopback/link-local/shared address is refused
    WEBHOOK_ALLOWED_HOSTS = os.environ.get("WEBHOOK_ALLOWED_HOSTS", "")
    SCHEDULER_TIMEZONE = "Asia/Shanghai"


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "TEST_DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'test.db'}"
    )
    BASE_URL = "http://testserver"
    MAIL_PORT = 0
    WEBHOOK_ALLOWED_HOSTS = "127.0.0.1"  # the tests' local robot receiver


class ProductionConfig(Config):
    DEBUG = False
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 365 * 24 * 3600))

    @classmethod
    def check(cls) -> str:
        """Refuse to start unsafely; returns the SECRET_KEY to sign with (read now, not
        at import, so the value checked is the value used)."""
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError("ProductionConfig refuses to start without: " + ", ".join(missing))
        reason = weak_secret_reason(os.environ["SECRET_KEY"])
        if reason:
            raise RuntimeError(f"ProductionConfig refuses this SECRET_KEY: {reason}")
        return os.environ["SECRET_KEY"]


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
