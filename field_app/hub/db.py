"""The hub's database: one small interface over SQLite (default, a file) and PostgreSQL (psycopg 3, a pool).

The hub keeps no state in the process, so several hub processes (or uvicorn workers) can share one PostgreSQL.
Every request runs in one transaction (`HubDB.transaction()`); SQL is written once with `?` placeholders and works
on both engines.

**The change log's order without a global lock.** Devices pull the change log by position (`changes.pos`) and
must never skip a row. Rows are inserted with an insertion id (`seq`, an identity column) and no position. On
PostgreSQL, insertion ids are handed out before commit, so a transaction that started first may commit last: a
puller reading by `seq` could see 7 while 6 is still uncommitted, move its cursor to 7 and never see 6. So the
position is given after commit by a **sequencer**: when a transaction that appended change rows has committed, the
same connection runs one short transaction that takes a transaction-scoped advisory lock (`SEQUENCER_LOCK_KEY`)
and numbers every committed, unnumbered row after the current maximum, in `seq` order (`SEQUENCE_SQL`: one
UPDATE). Sequencers run one at a time and each sees the previous one's commit, so positions only grow and become
visible all at once: every puller sees a prefix of the log. Writers never wait for each other on the hot path
(only this UPDATE is serialised, for a millisecond). A row whose sequencer never ran (the process died between
commit and sequencing) is numbered by the next sequencer of any process, and a pull that sees such a row asks for
one (`Tx.logged`). On SQLite `BEGIN IMMEDIATE` already serialises writers, so `seq` is commit order and the
position is set to `seq` just before commit.

`Tx.lock_changes()` (a transaction-scoped advisory lock on PostgreSQL, nothing on SQLite) is still there for
the rare writers that must run one at a time across processes: migrations, the directory seed and directory
corrections. Pushes do not take it. A unique violation or a deadlock (two hub processes racing on the same rows)
raises `Conflict`, which the caller may retry once (push does, in a savepoint); `Conflict` is a `HubUnavailable`,
so an unretried one is a 503 with Retry-After.

**Pool size.** One pool per process, `max_size` connections (`pool_size_for(workers)`: the PostgreSQL
connections a deployment may use, `max_connections` minus a reserve, shared by every worker of every hub
process). A request waits `POOL_WAIT_SECONDS` for a connection, then answers 503.

A database that cannot be reached (server down, file locked too long) raises `HubUnavailable`: the API answers
503 with Retry-After, the command line prints the reason.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from field_app.errors import StorageError
from field_app.hub.schema import MIGRATIONS, Migration

Row = dict[str, Any]
Params = Sequence[Any]
# A request waits this long for a database connection, then answers 503: long enough that a burst of devices
# queues (a push takes tens of milliseconds) rather than failing, short enough for a dead server to show.
POOL_WAIT_SECONDS = 10.0
CHANGES_LOCK_KEY = 0x7061_7373  # "pass": migrations, the directory seed and corrections, one at a time
SEQUENCER_LOCK_KEY = 0x7061_7374  # the sequencer that gives committed change rows their position (PostgreSQL)
DEFAULT_POOL_SIZE = 8
# Number the committed change rows that have no position yet, after the highest position, in insertion order.
SEQUENCE_SQL = (
    "UPDATE changes SET pos = numbered.base + numbered.k FROM ("
    "SELECT seq, row_number() OVER (ORDER BY seq) AS k, (SELECT coalesce(max(pos), 0) FROM changes) AS base "
    "FROM changes WHERE pos IS NULL) AS numbered WHERE changes.seq = numbered.seq"
)
log = logging.getLogger(__name__)


class HubUnavailable(StorageError):
    """The hub's database cannot be reached right now (try again later)."""


class Conflict(HubUnavailable):
    """Another transaction wrote the same row first (a unique violation) or a deadlock: retry the transaction."""


def pool_size_for(workers: int, *, max_connections: int = 100, reserve: int = 10, hubs: int = 1) -> int:
    """Connections per worker's pool so that `hubs` hub processes × `workers` workers stay within the server's
    `max_connections` (minus `reserve` for psql, backups, migrations): at least 2, at most 16 (two cores serve no
    more than a few statements at once; more connections only queue inside PostgreSQL)."""
    share = (max_connections - reserve) // max(1, workers * hubs)
    return max(2, min(16, share))


def stamp(moment: dt.datetime) -> str:
    """A UTC time as fixed-width text, so that text order is time order on both engines."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class Tx(abc.ABC):
    """One open transaction."""

    dialect: str
    logged: bool = False  # change rows appended (or seen unnumbered): the sequencer runs at commit

    @abc.abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abc.abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each of `rows`, in order (PostgreSQL: pipelined, one round trip)."""

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        """Insert `rows` (values in `columns` order), in order: SQLite executemany, PostgreSQL one COPY."""
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def among(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` is one of `values`, as SQL and its parameters (PostgreSQL: one array parameter)."""
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    @property
    def for_update(self) -> str:
        """` FOR UPDATE` on PostgreSQL (row locks), nothing on SQLite (the transaction is the only writer)."""
        return " FOR UPDATE" if self.dialect == "postgres" else ""

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
        try:
            return self.conn.execute(sql, list(params)).rowcount
        except sqlite3.IntegrityError as exc:
            raise _sqlite_conflict(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            try:
                self.conn.executemany(sql, [list(r) for r in rows])
            except sqlite3.IntegrityError as exc:
                raise _sqlite_conflict(exc) from exc

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            cursor = self.conn.execute(sql, list(params))
        except sqlite3.IntegrityError as exc:
            raise _sqlite_conflict(exc) from exc
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


def _sqlite_conflict(exc: sqlite3.IntegrityError) -> BaseException:
    return Conflict(str(exc)) if "UNIQUE" in str(exc) else exc


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
            tx = _SqliteTx(conn)
            try:
                yield tx
                if tx.logged:  # the only writer: insertion order is commit order
                    conn.execute("UPDATE changes SET pos = seq WHERE pos IS NULL")
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

    def __init__(self, conn: Any, conflicts: tuple[type[BaseException], ...]):
        self.conn = conn
        self._locked = False
        self._conflicts = conflicts

    def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cursor = self.conn.execute(sql.replace("?", "%s"), list(params))
        except self._conflicts as exc:
            raise Conflict(str(exc).strip()) from exc
        return int(cursor.rowcount)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), [list(r) for r in rows])
        except self._conflicts as exc:
            raise Conflict(str(exc).strip()) from exc

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        if not rows:
            return
        try:
            with self.conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except self._conflicts as exc:
            raise Conflict(str(exc).strip()) from exc

    def among(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            cursor = self.conn.execute(sql.replace("?", "%s"), list(params))
        except self._conflicts as exc:
            raise Conflict(str(exc).strip()) from exc
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

    def __init__(self, url: str, *, max_size: int = DEFAULT_POOL_SIZE):
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self._errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
        self._conflicts: tuple[type[BaseException], ...] = (
            psycopg.errors.UniqueViolation,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.SerializationFailure,
        )
        self.max_size = max_size
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
            with self.pool.connection() as conn:
                with conn.transaction():
                    tx = _PgTx(conn, self._conflicts)
                    yield tx
                if tx.logged:
                    self._sequence(conn)
        except self._errors as exc:
            raise HubUnavailable(str(exc).strip() or type(exc).__name__) from exc

    def _sequence(self, conn: Any) -> None:
        """Number the committed change rows (see the module docstring); the data is committed already, so a failure
        here only delays them until the next sequencer of any process."""
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK_KEY])
                conn.execute(SEQUENCE_SQL)
        except self._errors as exc:
            log.warning("change rows left unnumbered until the next sequencer: %s", type(exc).__name__)

    def sequence(self) -> None:
        """Run the sequencer once (at start: rows left unnumbered by a process that died)."""
        with self.pool.connection() as conn:
            self._sequence(conn)

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


def open_hub_db(target: str | Path, *, migrate: bool = True, pool_size: int = DEFAULT_POOL_SIZE) -> HubDB:
    """A `postgresql://` URL or a SQLite file path; migrations applied unless `migrate` is False. `pool_size`:
    PostgreSQL connections of this process (see `pool_size_for`)."""
    text = str(target)
    db: HubDB = PostgresHubDB(text, max_size=pool_size) if is_postgres(text) else SqliteHubDB(Path(text).expanduser())
    if migrate:
        try:
            db.migrate()
            if isinstance(db, PostgresHubDB):
                db.sequence()
        except BaseException:
            db.close()
            raise
    return db
