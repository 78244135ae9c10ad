from pathlib import Path

import pytest

from asset_registry import create_app
from config import ProductionConfig


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL"):
        create_app(ProductionConfig)


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"


def _production_env(monkeypatch, secret: str) -> None:
    monkeypatch.setenv("SECRET_KEY", secret)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")


@pytest.mark.parametrize(
    "secret",
    [
        "x",
        "short-but-not-32-bytes-long",
        "testing",
        # long enough, but written in this very file: a key from the source is public
        "this-key-is-long-enough-but-it-is-in-the-source-code",
    ],
)
def test_production_refuses_a_weak_or_published_secret(monkeypatch, secret):
    _production_env(monkeypatch, secret)
    with pytest.raises(RuntimeError, match="refuses this SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_accepts_a_strong_secret(monkeypatch):
    import secrets

    key = secrets.token_urlsafe(40)
    _production_env(monkeypatch, key)
    app = create_app(ProductionConfig)
    assert app.config["SECRET_KEY"] == key and not app.debug


def test_development_generates_a_random_key_once_into_the_instance_folder(
    monkeypatch, tmp_path
):
    from config import DevelopmentConfig

    monkeypatch.delenv("SECRET_KEY", raising=False)

    class Dev(DevelopmentConfig):
        SECRET_KEY = None
        INSTANCE_PATH = str(tmp_path)
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'dev.db'}"
        UPLOAD_DIR = str(tmp_path / "uploads")

    first = create_app(Dev).config["SECRET_KEY"]
    again = create_app(Dev).config["SECRET_KEY"]
    assert first == again and len(first) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    # no key from the source: a cookie forged with one is not accepted
    assert first not in (Path(__file__).resolve().parent.parent / "config.py").read_text()
    other = tmp_path / "other"

    class OtherInstance(Dev):
        INSTANCE_PATH = str(other)

    assert create_app(OtherInstance).config["SECRET_KEY"] != first


def test_no_config_means_development_with_the_generated_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("ASSET_REGISTRY_CONFIG", raising=False)
    import config

    monkeypatch.setattr(config.DevelopmentConfig, "SECRET_KEY", None)
    app = create_app()
    assert app.debug
    assert app.config["SECRET_KEY"] == config.instance_secret(app.instance_path)
