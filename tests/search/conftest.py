"""Search fixtures: notes published on a chosen day, a small corpus, and /api/search helpers.

Notes are saved through save_note and committed (to the test's savepoint): the search index is
written before each commit, so a search sees exactly what a request would after a save.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls.models import Call
from app.notes.models import Note
from app.notes.services import NoteInput, save_note

from ..conftest import coalition_series

UTC = dt.UTC

Publish = Callable[..., Note]


def noon(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


@pytest.fixture
def publish(session: Session) -> Publish:
    """Publish a note on `day` (UTC noon), committed; its updates are then searchable."""

    def publish(title: str, body: str, day: str = "2025-01-15", **fields: Any) -> Note:
        data = NoteInput(title=title, body=body, status="published", **fields)
        note, _ = save_note(session, data, now=noon(day))
        session.commit()
        return note

    return publish


def api(client: FlaskClient, **params: Any) -> dict[str, Any]:
    """The JSON of a successful /api/search."""
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def titles(client: FlaskClient, **params: Any) -> set[str]:
    """The headings of the updates found (one page), as a set: for filters and matching."""
    return {result["title"] for result in api(client, **params)["results"]}


def ordered(client: FlaskClient, **params: Any) -> list[str]:
    return [result["title"] for result in api(client, **params)["results"]]


def refused(client: FlaskClient, **params: Any) -> str:
    """The message of a /api/search answered 400 with a JSON error."""
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 400, (params, response.status_code, response.get_data())
    error = response.get_json()["error"]
    assert error["status"] == 400
    return error["message"]


KENYA = "## Kenya (@amina)\n- Paralegals in Nairobi opened a legal aid desk.\n"
ASIA = "## Asia (@rina)\n- A paralegal workshop in Bandung gave legal advice and aid to fishers.\n"
BRASIL = "## Brasil (@rina)\n- El Acuerdo de Escazú llega a Recife.\n"
GLOBAL = "## Global updates\n- Funding for the paralegal network was renewed.\n"
DRAFT = "## Europe (@sam)\n- Paralegal plans kept under wraps.\n"

# The corpus's update headings, which the tests compare.
K, A, B, G = "Kenya (@amina)", "Asia (@rina)", "Brasil (@rina)", "Global updates"


@dataclasses.dataclass
class Corpus:
    kenya: Note  # Kenya (@amina), en, published 2024-03-05
    asia: Note  # Asia (@rina), en, published 2025-06-10
    brasil: Note  # Brazil (@rina), es, published 2025-09-01
    call_note: Note  # global, en, the Coalition call of 2025-11-11, published on the 12th
    draft: Note  # Europe (@sam), never published
    call: Call


@pytest.fixture
def corpus(session: Session, publish: Publish) -> Corpus:
    series = coalition_series(session, "2025-11-01", now=noon("2025-11-01"), horizon_months=1)
    call = min(series.calls, key=lambda call: call.start_at)
    assert call.start_at == dt.datetime(2025, 11, 11, 15, 0, tzinfo=UTC)
    draft, _ = save_note(
        session, NoteInput(title="Draft plans", body=DRAFT), now=noon("2025-07-01")
    )
    return Corpus(
        kenya=publish("Kenya report", KENYA, "2024-03-05"),
        asia=publish("Asia report", ASIA, "2025-06-10"),
        brasil=publish("Informe de Brasil", BRASIL, "2025-09-01", language="es"),
        call_note=publish("November call", GLOBAL, "2025-11-12", call_id=call.id),
        draft=draft,
        call=call,
    )
