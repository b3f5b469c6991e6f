"""Engine, sessions and schema migrations for the label store."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rsad.config import Settings, get_settings
from rsad.data.orm import Project
from rsad.errors import ConfigError, NotFoundError, StateError
from rsad.i18n import _

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
        raise ConfigError(_("Cannot use RSAD_DB_URL={url!r}: {exc}").format(url=url, exc=exc)) from exc
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
        raise StateError(_("Migrations folder {MIGRATIONS_DIR} is missing: reinstall rsad (the migrations ship "
                           "inside the package).").format(MIGRATIONS_DIR=MIGRATIONS_DIR))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    """The newest schema revision this release ships: what :func:`upgrade` brings a store to."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() or "base"


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the schema up to ``revision`` with Alembic; return the revision now in force."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = _alembic_config(engine)
    try:
        with migration_connection(engine) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or "base"
    except OperationalError as exc:
        raise StateError(_("Cannot open or migrate the store at {url!r}: {orig}").format(
                             url=engine.url, orig=exc.orig)) from exc


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for Alembic (``upgrade`` above, and ``env.py`` when Alembic
    is run on its own, e.g. a downgrade).

    SQLite: batch mode rebuilds a table by dropping it, and with foreign keys on the drop would
    cascade into the rows that point at it (every case of every batch). They are off for the
    migration (a PRAGMA outside any transaction) and back on afterwards; rows that already point
    at nothing are refused before anything runs, and any the migration left are refused before
    its transaction commits.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            if (orphan := conn.exec_driver_sql("PRAGMA foreign_key_check").first()) is not None:
                raise StateError(_("The store has rows pointing at nothing (table {table}, row {row}, "
                                   "missing {missing}): repair it before upgrading (`PRAGMA foreign_key_check` "
                                   "in sqlite3 lists them). Nothing was changed.").format(
                                     table=orphan[0], row=orphan[1], missing=orphan[2]))
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # ends SQLAlchemy's autobegun transaction (the PRAGMA opened none)
        try:
            with conn.begin():
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise StateError(_("The migration left rows pointing at nothing and was rolled back; restore "
                                     "the store from a backup if it no longer opens."))
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


@dataclass(frozen=True)
class ProjectRef:
    """The project a Store works in: what its queries filter by and the settings it overrides."""

    id: int
    name: str
    base_model: str = ""  # empty: RSAD_BASE_MODEL (else the embedded MiniLM)
    reason_codes: tuple[str, ...] = ()  # empty: RSAD_REASON_CODES
    settings: dict[str, Any] = field(default_factory=dict)


class Store:
    """An engine plus a session factory, working in one project; open one per process and share
    it. ``in_project`` gives a view of the same engine in another project (cheap, no new pool)."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True, project: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.engine = make_engine(self.settings.db_url, self.settings.sqlite_busy_timeout_s)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.project_name = project or self.settings.project
        self._project: ProjectRef | None = None

    def in_project(self, name: str) -> Store:
        """This store's engine and sessions, working in project ``name`` (checked on first use)."""
        view = copy.copy(self)
        view.project_name, view._project = name, None
        return view

    @property
    def project(self) -> ProjectRef:
        """The project's row, read once per Store (NotFoundError when no project has that name)."""
        if self._project is None:
            with self.session() as s:
                row = s.scalar(select(Project).where(Project.name == self.project_name))
                if row is None:
                    names = ", ".join(s.scalars(select(Project.name).order_by(Project.id)))
                    raise NotFoundError(_("No project named {project_name!r} (projects: {names}). Create it with "
                                          "`rsad projects add {project_name}`, or pick another with --project or "
                                          "RSAD_PROJECT.").format(project_name=self.project_name, names=names))
                self._project = ProjectRef(row.id, row.name, row.base_model, tuple(row.reason_codes),
                                           dict(row.settings))
        return self._project

    @property
    def project_id(self) -> int:
        return self.project.id

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return self.project.reason_codes or self.settings.reason_codes

    @property
    def base_model_path(self) -> str:
        return self.project.base_model or self.settings.base_model_path

    @property
    def models_dir(self) -> Path:
        """Where this project's version folders go (the default project keeps the old place)."""
        if self.project_name == "default":
            return self.settings.models_dir
        return self.settings.models_dir / "projects" / self.project_name

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
                    _("The store stayed busy for more than {sqlite_busy_timeout_s} s (another analyst or a long "
                      "job was writing): nothing was saved, try again. Raise RSAD_SQLITE_BUSY_TIMEOUT_S if this "
                      "happens often.").format(sqlite_busy_timeout_s=self.settings.sqlite_busy_timeout_s)) from exc
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
