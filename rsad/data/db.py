"""Engine, sessions and schema migrations for the label store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rsad.config import Settings, get_settings
from rsad.errors import ConfigError, StateError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def make_engine(url: str, busy_timeout_s: int = 30) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    try:
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    except Exception as exc:  # bad URL, missing driver
        raise ConfigError(f"Cannot use RSAD_DB_URL={url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets analysts read the queue while a batch is being written.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    if not (MIGRATIONS_DIR / "env.py").exists():
        raise StateError(f"Migrations folder {MIGRATIONS_DIR} is missing: "
                         "reinstall rsad (the migrations ship inside the package).")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the schema up to ``revision`` with Alembic; return the revision now in force."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = _alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or "base"
    except OperationalError as exc:
        raise StateError(f"Cannot open or migrate the store at {engine.url!r}: {exc.orig}") from exc


class Store:
    """An engine plus a session factory; open one per process and share it."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or get_settings()
        self.engine = make_engine(self.settings.db_url, self.settings.sqlite_busy_timeout_s)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls back on any error.

        Concurrent writers wait for each other (SQLite: WAL and the busy timeout; 4 processes
        writing 2,000 verdicts at once need no retry, see tests/test_concurrency.py). A wait
        longer than the timeout becomes an error the user can act on, not a stack trace.
        """
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if "database is locked" in str(exc.orig):
                raise StateError(
                    f"The store stayed busy for more than {self.settings.sqlite_busy_timeout_s} s (another "
                    "analyst or a long job was writing): nothing was saved, try again. "
                    "Raise RSAD_SQLITE_BUSY_TIMEOUT_S if this happens often.") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

    @property
    def location(self) -> str:
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database:
            return str(Path(url.database))
        return url.render_as_string(hide_password=True)
