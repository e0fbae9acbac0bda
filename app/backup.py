"""`flask backup create PATH` and `flask backup restore PATH`: the app's database, either kind.

Both read the database from the app's own configuration (DATABASE_URL, or the SQLite file under
instance/), so an operator never translates URLs between SQLAlchemy and libpq.

- SQLite: SQLite's online backup API (Python's `sqlite3.Connection.backup`) copies the database
  in one step under a read transaction, so the copy is consistent while the app and scheduler
  write (WAL lets them go on); the copy is checked with `PRAGMA quick_check`. No sqlite3 program
  is needed.
- PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, compressed) and `pg_restore
  --single-transaction --no-owner --no-privileges` (all or nothing, owned by the restoring role).
  The password goes to them in PGPASSWORD, never on a command line.

A backup is written to a temporary file beside PATH, readable by its owner only, and renamed
into place when complete. A restore goes only into an empty database (no tables), so it can
never mix two databases; it checks the file's kind first. docs/OPERATIONS.md has the procedure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.db import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"

backup_cli = AppGroup("backup", help="Back up and restore the database.")


class BackupError(click.ClickException):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("The database is in memory: there is nothing to back up or restore.")
    return Path(url.database)


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def _program(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} was not found: install the PostgreSQL client programs of the server's "
            "major version (Debian: apt-get install postgresql-client)."
        )
    return found


@contextlib.contextmanager
def _written_atomically(target: Path) -> Iterator[Path]:
    """A temporary file beside `target`, readable by its owner only, renamed to `target` when
    the block succeeds and removed when it fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _quick_check(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{what} is damaged: {result}")


def create(engine: sa.Engine, target: Path) -> str:
    """Write a consistent copy of the database behind `engine` to `target`; its backend's name."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"{source_path} does not exist.")
        with _written_atomically(target) as temporary:
            source = sqlite3.connect(source_path, timeout=30)
            copy = sqlite3.connect(temporary)
            try:
                source.backup(copy)  # one step: a consistent snapshot
                # One self-contained file: the copy would otherwise inherit WAL mode, and
                # opening it would make -wal and -shm files beside it.
                copy.execute("PRAGMA journal_mode = DELETE")
                _quick_check(copy, "The copy")
            finally:
                copy.close()
                source.close()
        return "sqlite"
    if url.get_backend_name() == "postgresql":
        uri, env = _libpq(url)
        with _written_atomically(target) as temporary:
            command = [_program("pg_dump"), "--format=custom", f"--file={temporary}", uri]
            _run(command, env, "pg_dump")
        return "postgresql"
    raise BackupError(f"Backing up a {url.get_backend_name()} database is not supported.")


def restore(engine: sa.Engine, source: Path) -> str:
    """Restore the backup at `source` into the empty database behind `engine`; its backend."""
    url = engine.url
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup, and the database is SQLite.")
        target_path = _sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        backup = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            _quick_check(backup, str(source))
            if _sqlite_tables(target):
                raise _not_empty(str(target_path))
            backup.backup(target)
        finally:
            target.close()
            backup.close()
        return "sqlite"
    if backend == "postgresql":
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(
                f"{source} is not a pg_dump archive (custom format), and the database is "
                "PostgreSQL."
            )
        with engine.connect() as connection:
            if sa.inspect(connection).get_table_names():
                raise _not_empty(url.render_as_string(hide_password=True))
        engine.dispose()  # pg_restore works alone
        uri, env = _libpq(url)
        command = [
            _program("pg_restore"),
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--dbname={uri}",
            str(source),
        ]
        _run(command, env, "pg_restore")
        return "postgresql"
    raise BackupError(f"Restoring into a {backend} database is not supported.")


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return [name for (name,) in rows]


def _not_empty(where: str) -> BackupError:
    return BackupError(
        f"The database {where} already holds tables: restore only into an empty database "
        "(SQLite: move the file away; PostgreSQL: dropdb and createdb), so that nothing of "
        "two databases is ever mixed."
    )


def _run(command: list[str], env: dict[str, str], name: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{name} failed (exit status {result.returncode}):\n{result.stderr}")


def summary(engine: sa.Engine) -> str:
    """What the database holds, in a line: the migration revision and the main tables' rows."""
    tables = ("notes", "calls", "series", "subscribers", "deliveries", "users")
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        counts = [
            f"{connection.scalar(sa.text(f'SELECT count(*) FROM {table}'))} {table}"
            for table in tables
            if table in present
        ]
        revision = (
            connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
            if "alembic_version" in present
            else None
        )
    return f"revision {revision or 'none'}: " + ", ".join(counts)


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def create_command(path: Path) -> None:
    """Write a consistent backup of the database to PATH; safe while the app runs."""
    backend = create(db.engine, path)
    click.echo(f"Backed up the {backend} database to {path} ({path.stat().st_size} bytes).")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Restore the backup at PATH into the configured database, which must be empty.

    Stop the web and scheduler processes first; run `flask db upgrade` afterwards when the
    backup comes from an older version."""
    backend = restore(db.engine, path)
    db.engine.dispose()
    click.echo(f"Restored {path} into the {backend} database.")
    click.echo(f"It holds {summary(db.engine)}.")
