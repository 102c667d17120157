"""The hub's database: one small interface over SQLite (default, a file) and PostgreSQL (psycopg 3, a pool).

The hub keeps no state in the process, so several hub processes can share one PostgreSQL. Every request runs in
one transaction (`HubDB.transaction()`); SQL is written once with `?` placeholders and works on both engines.
Writes that append to the change log call `Tx.lock_changes()` first: on PostgreSQL a transaction-scoped advisory
lock, so that change-log sequence numbers are handed out in commit order and a puller never skips a row committed
late by another hub process; on SQLite `BEGIN IMMEDIATE` already serialises writers.

A database that cannot be reached (server down, file locked too long) raises `HubUnavailable`: the API answers
503 with Retry-After, the command line prints the reason.
"""

from __future__ import annotations

import abc
import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from field_app.errors import StorageError
from field_app.hub.schema import MIGRATIONS, Migration

Row = dict[str, Any]
Params = Sequence[Any]
POOL_WAIT_SECONDS = 3.0  # a request waits this long for a database connection, then answers 503
CHANGES_LOCK_KEY = 0x7061_7373  # "pass": the advisory lock that orders change-log appends on PostgreSQL


class HubUnavailable(StorageError):
    """The hub's database cannot be reached right now (try again later)."""


def stamp(moment: dt.datetime) -> str:
    """A UTC time as fixed-width text, so that text order is time order on both engines."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class Tx(abc.ABC):
    """One open transaction."""

    dialect: str

    @abc.abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abc.abstractmethod
    def all(self, sql: str, params: Params = ()) -> list[Row]: ...

    def one(self, sql: str, params: Params = ()) -> Row | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    @abc.abstractmethod
    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: rolled back (and the exception re-raised) when the block raises."""

    @abc.abstractmethod
    def lock_changes(self) -> None:
        """Call before appending to the change log (see the module docstring)."""


class HubDB(abc.ABC):
    dialect: str
    label: str  # where it is, without credentials

    @abc.abstractmethod
    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """A transaction, committed when the block ends normally. `readonly` ones never wait for writers."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def migrate(self) -> list[int]:
        """Apply pending migrations (under a lock, so hub processes starting together do not race)."""
        with self.transaction() as tx:
            tx.lock_changes()
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at TEXT NOT NULL)"
            )
            done = {r["version"] for r in tx.all("SELECT version FROM schema_migrations")}
            applied = []
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in _statements(migration, self.dialect):
                    tx.execute(statement)
                if migration.after is not None:
                    migration.after(tx)
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [migration.version, migration.name, stamp(dt.datetime.now(dt.UTC))],
                )
                applied.append(migration.version)
        return applied


def _statements(migration: Migration, dialect: str) -> list[str]:
    script = migration.sqlite if dialect == "sqlite" else migration.postgres
    return [s.strip() for s in script.split(";\n") if s.strip()]


# ---------------------------------------------------------------------------------------------------- SQLite


_UNAVAILABLE_SQLITE = ("locked", "busy", "unable to open", "disk i/o", "readonly")


class _SqliteTx(Tx):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._depth = 0

    def execute(self, sql: str, params: Params = ()) -> int:
        return self.conn.execute(sql, list(params)).rowcount

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = self.conn.execute(sql, list(params))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._depth += 1
        name = f"sp{self._depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    def lock_changes(self) -> None:
        pass  # BEGIN IMMEDIATE: this transaction is already the only writer


class SqliteHubDB(HubDB):
    """A SQLite file; a connection per transaction (cheap), WAL so readers never wait for the writer."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.label = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            conn.execute("PRAGMA journal_mode = WAL")
            conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise HubUnavailable(f"cannot open {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise HubUnavailable(str(exc)) from exc
        try:
            conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        except sqlite3.OperationalError as exc:
            if any(word in str(exc).lower() for word in _UNAVAILABLE_SQLITE):
                raise HubUnavailable(str(exc)) from exc
            raise
        finally:
            conn.close()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------------- PostgreSQL


class _PgTx(Tx):
    dialect = "postgres"

    def __init__(self, conn: Any):
        self.conn = conn
        self._locked = False

    def execute(self, sql: str, params: Params = ()) -> int:
        cursor = self.conn.execute(sql.replace("?", "%s"), list(params))
        return int(cursor.rowcount)

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = self.conn.execute(sql.replace("?", "%s"), list(params))
        if cursor.description is None:
            return []
        return list(cursor.fetchall())

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def lock_changes(self) -> None:
        if not self._locked:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGES_LOCK_KEY])
            self._locked = True


class PostgresHubDB(HubDB):
    """A PostgreSQL database through a small connection pool (dead connections are checked and replaced)."""

    dialect = "postgres"

    def __init__(self, url: str, *, max_size: int = 8):
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self._errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
        self.label = _without_password(url)
        try:  # one direct attempt first: a clear, quick error when the server is not there
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            raise HubUnavailable(f"cannot reach {self.label}: {str(exc).strip()}") from exc
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "connect_timeout": 5},
            check=ConnectionPool.check_connection,
            timeout=POOL_WAIT_SECONDS,
            open=False,
        )
        from psycopg_pool import PoolTimeout

        self._errors += (PoolTimeout,)
        try:
            self.pool.open(wait=True, timeout=10)
        except self._errors as exc:
            self.pool.close()
            raise HubUnavailable(f"cannot reach {self.label}: {exc}") from exc

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield _PgTx(conn)
        except self._errors as exc:
            raise HubUnavailable(str(exc).strip() or type(exc).__name__) from exc

    def close(self) -> None:
        self.pool.close()


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_hub_db(target: str | Path, *, migrate: bool = True) -> HubDB:
    """A `postgresql://` URL or a SQLite file path; migrations applied unless `migrate` is False."""
    text = str(target)
    db: HubDB = PostgresHubDB(text) if is_postgres(text) else SqliteHubDB(Path(text).expanduser())
    if migrate:
        try:
            db.migrate()
        except BaseException:
            db.close()
            raise
    return db
