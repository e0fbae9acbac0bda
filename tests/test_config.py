"""Configuration: safe defaults, production refusals, database URLs."""

from __future__ import annotations

import pytest

import config
from app import create_app


def test_default_database_is_sqlite_under_instance() -> None:
    url = config.database_url(None)
    assert url.startswith("sqlite:///")
    assert url.endswith("instance/convene.sqlite3")


@pytest.mark.parametrize("given", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_postgres_urls_use_psycopg3(given: str) -> None:
    assert config.database_url(given) == "postgresql+psycopg://u@h/db"


def test_production_refuses_the_development_secret() -> None:
    class Prod(config.ProductionConfig):
        SECRET_KEY = config.DEV_SECRET_KEY
        DATABASE_URL = "sqlite://"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Prod)


def test_production_sends_hsts_and_secure_cookies() -> None:
    class Prod(config.ProductionConfig):
        SECRET_KEY = "a-long-random-production-secret"
        DATABASE_URL = "sqlite://"

    app = create_app(Prod)
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_development_sends_no_hsts() -> None:
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


def test_unknown_environment_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVENE_ENV", "staging")
    with pytest.raises(RuntimeError, match="CONVENE_ENV"):
        config.config_from_env()
