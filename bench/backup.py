"""`rsad db backup` / `restore` on a store of N cases with V verdicts, SQLite and (with
RSAD_TEST_PG_URL) PostgreSQL: seconds and backup size, and how many verdicts a writer committed
meanwhile (the backup does not stop the desk). No model versions (--no-models): the store only.

    python bench/backup.py --n 50000 --verdicts 5000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _table(n: int):  # noqa: ANN202 - pandas is imported here, not at module level
    import pandas as pd

    return pd.DataFrame({"case_id": [f"c{i:07d}" for i in range(n)],
                         "behavior_description": [f"user {i} browsed {i % 97} items and bought {i % 7}"
                                                  for i in range(n)],
                         "platform": ["shop", "video"] * (n // 2) + ["shop"] * (n % 2)})


def run(kind: str, url: str, work: Path, n: int, n_verdicts: int) -> str:
    from sqlalchemy import select

    from rsad.auth.users import User
    from rsad.config import get_settings
    from rsad.data import uploads
    from rsad.data.db import Store
    from rsad.data.orm import Case
    from rsad.review import verdicts
    from rsad.service import backup

    work.mkdir(parents=True, exist_ok=True)
    settings = replace(get_settings(), db_url=url, models_dir=work / "models", users_file=work / "users.json")
    store = Store(settings)
    uploads.ingest_file(store, _table(n).to_csv(index=False).encode(), file_name="big.csv", name="big")
    with store.session() as s:
        ids = list(s.scalars(select(Case.id).order_by(Case.id).limit(n_verdicts)))
    for start in range(0, len(ids), 500):
        verdicts.record_verdicts(store, ids[start:start + 500], "normal", analyst="ana")
    written, halt = [0], threading.Event()

    def writer() -> None:
        while not halt.is_set():
            written[0] += verdicts.record_verdicts(store, [ids[written[0] % len(ids)]], "anomaly", analyst="bo")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    admin = User("root", "admin")
    t0 = time.perf_counter()
    info = backup.backup(settings, work / "bk", user=admin, models=False)
    t_backup = time.perf_counter() - t0
    halt.set()
    thread.join()
    store.dispose()
    size = sum(f["bytes"] for f in info.files.values())
    t0 = time.perf_counter()
    backup.restore(settings, work / "bk", user=admin, yes=True)
    t_restore = time.perf_counter() - t0
    return (f"{kind}: {n:,} cases, {n_verdicts:,} verdicts: backup {t_backup:.1f} s ({size / 1e6:.1f} MB; "
            f"{written[0]:,} verdicts committed meanwhile), restore {t_restore:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--verdicts", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(run("sqlite", f"sqlite:///{tmp}/sqlite/rsad.sqlite3", Path(tmp) / "sqlite", args.n, args.verdicts))
    pg = os.environ.get("RSAD_TEST_PG_URL")
    if not pg:
        print("postgresql: skipped (RSAD_TEST_PG_URL is not set)")
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"rsad_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
            print(run("postgresql", url, Path(tmp), args.n, args.verdicts))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
