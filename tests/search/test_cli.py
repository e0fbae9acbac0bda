"""`flask search reindex` rebuilds the index from the notes; `flask search query` searches."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from .conftest import A, B, Corpus, G, K, api, titles


def empty_the_index(session: Session, backend: str) -> None:
    session.execute(sa.text("DELETE FROM search_documents"))
    if backend == "sqlite":
        session.execute(sa.text("DELETE FROM search_fts"))
    session.commit()


def test_reindex_rebuilds_an_emptied_index(
    client: FlaskClient, runner: Any, session: Session, backend: str, corpus: Corpus
) -> None:
    assert titles(client, q="paralegal") == {K, A, G}
    empty_the_index(session, backend)
    assert api(client)["total"] == 0
    assert titles(client, q="paralegal") == set()

    result = runner.invoke(args=["search", "reindex"])

    assert result.exit_code == 0, result.output
    # Four published updates of the five notes (the draft's update is not indexed).
    assert "4 updates of 5 notes indexed." in result.output
    assert titles(client, q="paralegal") == {K, A, G}
    assert titles(client, q="Escazu region:americas lang:es") == {B}
    assert titles(client, q="series:coalition-call", to="2025-11-11") == {G}
    assert api(client)["total"] == 4


def test_reindex_replaces_rather_than_adds(
    client: FlaskClient, runner: Any, corpus: Corpus
) -> None:
    for _ in range(2):
        result = runner.invoke(args=["search", "reindex"])
        assert result.exit_code == 0, result.output
    assert api(client)["total"] == 4
    assert api(client, q="paralegal")["total"] == 3


def test_query_prints_the_results(runner: Any, corpus: Corpus) -> None:
    result = runner.invoke(args=["search", "query", "paralegal region:africa"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "1 updates (page 1 of 1)",
        "2024-03-05  kenya-report#kenya  Kenya (@amina)",
    ]
    result = runner.invoke(args=["search", "query", "--sort", "date", "paralegal"])
    assert result.output.splitlines()[1:] == [
        "2025-11-11  november-call#global-updates  Global updates",
        "2025-06-10  asia-report#asia  Asia (@rina)",
        "2024-03-05  kenya-report#kenya  Kenya (@amina)",
    ]


def test_query_reports_bad_input(runner: Any, corpus: Corpus) -> None:
    result = runner.invoke(args=["search", "query", "region:atlantis"])
    assert result.exit_code == 1
    assert "There is no region 'atlantis'." in result.output
