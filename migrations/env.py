"""Alembic environment: runs migrations on the connection Convene hands it, or on the app's engine.

`flask db upgrade` (app/cli.py) passes its connection in `config.attributes["connection"]`; plain
`alembic upgrade head` builds the app from the environment and uses its engine.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from app.db import Base, UTCDateTime, managed_by_models
from app.models import import_all_models

import_all_models()
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types as plain SQLAlchemy types so revisions do not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        include_name=managed_by_models,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    from app import create_app
    from app.db import db

    with create_app().app_context(), db.engine.connect() as connection:
        run_migrations(connection)
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them against a database.")
main()
