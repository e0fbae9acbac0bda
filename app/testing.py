"""Helpers shared by the test suite and the benchmarks (never used by the app itself)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def temporary_postgres_database(server_url: str, prefix: str = "convene_test") -> Iterator[str]:
    """Create a fresh database on the server, yield its URL, drop it afterwards.

    RuntimeError when the server cannot be reached."""
    url = sa.make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise RuntimeError(f"PostgreSQL at {url.host}:{url.port} is unreachable: {exc}") from exc
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
