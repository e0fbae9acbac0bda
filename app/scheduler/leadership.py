"""One scheduler process leads; the others stand by and take over when it dies.

PostgreSQL: the leader holds a session-level advisory lock on a connection of its own; the lock
goes when the process or its connection dies, and a standby's next try takes it. SQLite: an
exclusive flock on a file beside the database does the same for processes on one machine.
Either way the outbox makes double sending impossible even if two processes ran jobs at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

import sqlalchemy as sa

LOCK_KEY = 0x436F6E76  # "Conv": the advisory lock's key, the same in every process
TRY_LOCK = sa.text("SELECT pg_try_advisory_lock(:key)")
UNLOCK = sa.text("SELECT pg_advisory_unlock(:key)")


class Leadership:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.connection: sa.Connection | None = None
        self.file: IO[bytes] | None = None

    @property
    def is_leader(self) -> bool:
        return self.connection is not None or self.file is not None

    def try_lead(self) -> bool:
        """Become the leader if nobody is; True while this process leads."""
        if self.is_leader:
            return self._still_leading()
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            taken = connection.scalar(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            if taken:
                self.connection = connection
            else:
                connection.close()
        else:
            handle = _lock_path(self.engine).open("ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
            else:
                self.file = handle
        return self.is_leader

    def _still_leading(self) -> bool:
        if self.connection is not None:
            try:
                self.connection.scalar(sa.text("SELECT 1"))
            except sa.exc.DBAPIError:  # the connection, and with it the lock, is gone
                with contextlib.suppress(Exception):
                    self.connection.close()
                self.connection = None
        return self.is_leader

    def resign(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
                )
                self.connection.close()
            self.connection = None
        if self.file is not None:
            self.file.close()  # closing the file releases the flock
            self.file = None


def _lock_path(engine: sa.Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        return Path(os.environ.get("TMPDIR", "/tmp")) / f"convene-scheduler-{os.getpid()}.lock"
    return Path(f"{database}.scheduler.lock")
