"""Facets counted beside the page, on a connection of their own, as the app does on a database
every connection sees (the other search tests share one rolled-back connection, on which the
facets are counted before the page instead): the same totals, facets and pages either way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from flask import Flask

from app.db import db
from app.notes.services import NoteInput, save_note
from app.search import backends
from app.taxonomy.services import seed_regions

from ..conftest import dispose, fresh_database, make_app, migrate

NOTES = (
    ("Kenya wells", "## Kenya\n- Water wells in Turkana.\n", "2024-05-01"),
    ("Uganda pumps", "## Uganda\n- Water pumps repaired.\n", "2025-02-01"),
    ("Nigeria rights", "## Nigeria\n- Water rights campaign.\n", "2025-03-01"),
    ("Asia tariffs", "## Asia\n- Water tariffs rose.\n", "2025-04-01"),
    ("Asia fishing", "## Asia\n- Fishing quotas.\n", "2023-06-01"),
)
SEARCHES = (
    {"q": "water"},
    {"q": "water", "region": "africa"},
    {"q": '"water rights" OR "water wells"'},
    {"q": "water", "from": "2025-02-15"},
    {"q": "water", "page": "2", "per_page": "3"},
    {"q": "nothing-like-it"},
)


@pytest.fixture
def app(backend: str, tmp_path: Path) -> Iterator[Flask]:
    with fresh_database(backend, tmp_path) as url:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            seed_regions(db.session)
            for title, body, day in NOTES:
                noon = dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)
                data = NoteInput(title=title, body=body, status="published")
                save_note(db.session, data, now=noon)
            db.session.commit()
        yield app
        dispose(app)


def answers(app: Flask) -> list[dict[str, Any]]:
    client = app.test_client()
    found = []
    for params in SEARCHES:
        response = client.get("/api/search", query_string=params)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        found.append(
            {
                "total": body["total"],
                "facets": body["facets"],
                "ids": [result["update_id"] for result in body["results"]],
            }
        )
    return found


def test_facets_beside_the_page_are_those_counted_before_it(app: Flask) -> None:
    threads = backends._facet_threads()
    with mock.patch.object(threads, "submit", wraps=threads.submit) as submit:
        beside = answers(app)
    # Every search counted its facets in the other thread, phrases included.
    assert submit.call_count == len(SEARCHES)

    # The same searches on a session bound to one connection: facets, then the page.
    with app.app_context():
        connection = db.engine.connect()
    with connection, mock.patch.dict(db_maker(app).kw, {"bind": connection}):
        before = answers(app)
    assert beside == before
    water, africa, phrases, dated, second_page, nothing = beside
    assert water["total"] == 4 and len(water["ids"]) == 4
    assert water["facets"]["regions"] == [
        {"slug": "africa", "name": "Africa", "count": 3},
        {"slug": "asia", "name": "Asia", "count": 1},
    ]
    assert water["facets"]["years"] == [{"year": 2025, "count": 3}, {"year": 2024, "count": 1}]
    assert africa["total"] == 3
    assert phrases["total"] == 2
    assert [f["count"] for f in phrases["facets"]["years"]] == [1, 1]
    assert dated["total"] == 2
    assert second_page["total"] == 4 and len(second_page["ids"]) == 1
    assert nothing == {"total": 0, "facets": {"regions": [], "years": []}, "ids": []}


def db_maker(app: Flask) -> Any:
    with app.app_context():
        return db.sessionmaker
