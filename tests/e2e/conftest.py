"""Browser tests: Debian's chromium, driven by Playwright, against the app on a live server.

The server runs in a thread on a loopback port with its own migrated SQLite database. Chromium is
installed by `make test` when missing (and allowed); with CI=true a missing browser is an error.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.auth import services
from app.db import db

from ..conftest import IN_CI, PASSWORD, RAN, dispose, make_app, migrate

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        if IN_CI:
            pytest.fail(f"CI=true: chromium is required for browser tests ({CHROMIUM} missing)")
        pytest.skip("chromium is not installed (make test installs it when it may)")
    return path


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    path: Path = tmp_path_factory.mktemp("e2e") / "live.sqlite3"
    app = make_app(f"sqlite:///{path}")
    migrate(app)
    with app.app_context():
        services.create_user(
            db.session, email="admin@example.org", name="Ada Admin", password=PASSWORD, role="admin"
        )
        db.session.commit()
    yield app
    dispose(app)


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """The app served on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context (no cookies) and page per test."""
    options = getattr(request, "param", {})
    context = browser.new_context(**options)  # type: ignore[attr-defined]
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    RAN["e2e"].add(request.node.name)
    context.close()
