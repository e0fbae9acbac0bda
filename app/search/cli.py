"""`flask search ...`: rebuild the index, and search from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import db

from . import documents, services
from .query import QueryError

search_cli = AppGroup("search", help="The search index of published updates.")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from every published update, in one transaction."""
    total = len(documents.all_note_ids(db.session))
    with click.progressbar(length=total, label="Indexing notes", show_pos=True) as bar:
        written = documents.reindex_all(db.session, progress=bar.update)
    db.session.commit()
    click.echo(f"{written} updates of {total} notes indexed.")


@search_cli.command("query")
@click.argument("text")
@click.option("--sort", type=click.Choice(services.SORTS), default="relevance")
@click.option("--page", type=int, default=1)
def query_command(text: str, sort: str, page: int) -> None:
    """Search as the search page does; filters may be written in TEXT (region:africa)."""
    try:
        found = services.search(
            db.session, services.SearchRequest(text=text, sort=sort, page=page, facets=False)
        )
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None
    for notice in found.notices:
        click.echo(notice, err=True)
    click.echo(f"{found.total} updates (page {found.page} of {found.pages})")
    for result in found.results:
        date = services.result_day(result).isoformat()
        click.echo(f"{date}  {result.note.slug}#{result.update.anchor}  {result.update.title}")
