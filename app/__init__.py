"""Convene: the application factory.

`create_app` builds a Flask app from a config class, a mapping of settings or, by default, the
environment (see config.py). It never starts the scheduler: that runs in its own process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module

from . import cache, db, errors, i18n, logs, security


def create_app(config: type | Mapping[str, Any] | None = None) -> Flask:
    """Create the app. `config` is a config class, a mapping of overrides on TestConfig, or None."""
    app = Flask(__name__, instance_path=str(config_module.INSTANCE))
    if config is None:
        app.config.from_object(config_module.config_from_env())
    elif isinstance(config, Mapping):
        app.config.from_object(config_module.TestConfig)
        app.config.update(config)
    else:
        app.config.from_object(config)
    _check_config(app)
    os.makedirs(app.instance_path, exist_ok=True)

    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    logs.init_app(app)  # first: its hooks number and time whole requests
    db.init_app(app)
    cache.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    from .auth import init_app as init_auth
    from .backup import backup_cli
    from .calls import api as calls_api
    from .calls import routes as calls_routes
    from .calls.cli import calls_cli
    from .feeds import publish as feeds_publish
    from .feeds import routes as feeds_routes
    from .feeds.cli import feeds_cli
    from .health import bp as health_bp
    from .mail import (
        confirmation,  # noqa: F401 - registers the confirmation mail's renderer
        digests,  # noqa: F401 - registers the digest's renderer and publish hook
        reminders,  # noqa: F401 - registers the reminder and cancellation renderers
        rollup,  # noqa: F401 - registers the monthly roll-up's renderer
    )
    from .mail import preview as mail_preview
    from .mail import routes as mail_routes
    from .mail.cli import mail_cli
    from .main import bp as main_bp
    from .notes import api as notes_api
    from .notes import routes as notes_routes
    from .notes.cli import notes_cli
    from .scheduler.cli import scheduler_cli
    from .search import routes as search_routes
    from .search.cli import search_cli
    from .taxonomy import api as taxonomy_api
    from .taxonomy import routes as taxonomy_routes
    from .taxonomy.cli import regions_cli

    init_auth(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(health_bp)
    feeds_routes.init_app(app)  # before the pages: /series/<slug>.ics is not a series slug
    feeds_publish.init_app(app)
    for blueprint in (
        calls_routes.bp,
        calls_api.bp,
        notes_routes.bp,
        notes_api.bp,
        taxonomy_routes.bp,
        taxonomy_api.bp,
        search_routes.bp,
        search_routes.api_bp,
        mail_routes.bp,
        mail_preview.bp,
    ):
        app.register_blueprint(blueprint)
    commands = (
        backup_cli,
        calls_cli,
        feeds_cli,
        mail_cli,
        notes_cli,
        regions_cli,
        scheduler_cli,
        search_cli,
    )
    for group in commands:
        app.cli.add_command(group)

    from .cli import register as register_cli

    register_cli(app)
    return app


def _check_config(app: Flask) -> None:
    if app.config["ENV_NAME"] == "production" and app.config["SECRET_KEY"] in (
        config_module.DEV_SECRET_KEY,
        "",
        None,
    ):
        raise RuntimeError(
            "Refusing to start in production with the development SECRET_KEY: "
            "set SECRET_KEY to a long random value."
        )
