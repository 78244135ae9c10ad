"""Asset Registry: the equipment register for Jincheng's public institutions."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from flask import Flask

from .extensions import babel, csrf, db, json_dumps, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

# Each domain package may have `models`, `views` (defining `bp`), `cli` (defining
# `register_cli(app)`) and `seed` (defining `seed_demo()`); the order is the seeding order.
DOMAINS = (
    "tenancy",
    "audit",
    "catalog",
    "assets",
    "inspections",
    "labels",
    "plans",
    "alerts",
    "imports",
    "reports",
    "api",
    "programme",
    "backup",
)


def _optional(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


def load_models() -> None:
    """Import every domain's models so the metadata is complete."""
    for name in DOMAINS:
        _optional(f"{__name__}.{name}.models")


def create_app(config: object | str | None = None) -> Flask:
    """Build the app: only registration happens here."""
    from config import CONFIGS, ProductionConfig, instance_secret

    if config is None:
        config = os.environ.get("ASSET_REGISTRY_CONFIG", "development")
    if isinstance(config, str):
        if config not in CONFIGS:
            raise RuntimeError(
                f"ASSET_REGISTRY_CONFIG={config!r}: use one of " + ", ".join(CONFIGS)
            )
        config = CONFIGS[config]
    production_secret = None
    if isinstance(config, type) and issubclass(config, ProductionConfig):
        production_secret = config.check()

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(getattr(config, "INSTANCE_PATH", ROOT / "instance")),
    )
    app.config.from_object(config)
    from . import web

    web.install_converters(app)  # before any route exists
    if production_secret:
        app.config["SECRET_KEY"] = production_secret
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    engine_options = {"json_serializer": json_dumps}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        engine_options["connect_args"] = {"timeout": 30}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options,
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }

    db.init_app(app)
    from .tenancy import row_security

    row_security.register(db.metadata)
    row_security.init_app(app)  # DATABASE_ROLE, no RLS bypass, /healthz probe
    from .assets.search import is_search_object

    migrate.init_app(app, db, directory=str(ROOT / "migrations"), include_object=is_search_object)
    login_manager.init_app(app)

    load_models()
    babel.init_app(app, locale_selector=web.select_locale)
    web.init_app(app)
    # after web's before_request: a CSRF failure then renders for a signed-in user
    # with their scope, like every other page
    csrf.init_app(app)

    for name in DOMAINS:
        views = _optional(f"{__name__}.{name}.views")
        if views is not None:  # a domain with more than one blueprint lists them
            for blueprint in getattr(views, "blueprints", (views.bp,)):
                app.register_blueprint(blueprint)
        cli_module = _optional(f"{__name__}.{name}.cli")
        if cli_module is not None:
            cli_module.register_cli(app)

    from . import cli

    cli.init_app(app)
    return app
