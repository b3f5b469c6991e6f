"""The first minute of a new desk: a fresh store to a scored demo batch, then explanation times.

(a) Fresh start on an empty store in a temporary folder (install excluded; imports included,
    timed from this script's start): what `rsad serve` does before a page can show the queue
    (migrations, the first admin, :func:`rsad.ops.demo.bootstrap` with the fast starter), to a
    scored demo batch with an active model, then the first page of Review (the service call the
    page makes), with each phase's time.
(b) Cold explanations (default setting: early stop) of N cases past the first ``--walk`` of the
    queue: median and p90 seconds, steps used, and the convergence delta relative to the change
    explained (quantiles, share within 1 %); ``--fixed K`` of them also at a fixed 50 steps.
(c) The follow-up's explain-ahead of the first ``--walk`` cases in queue order, then a walk of
    those cases as the Review page reads them (cache first): hit rate and time per case.

No fine-tuned candidate is started (RSAD_DEMO_CANDIDATE=0): it runs for minutes in the background
and is not part of the first minute.

    nice -n 10 python bench/first_minute.py --cold 30 --walk 50
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
C0 = time.process_time()  # CPU seconds of this process (all its threads): less swayed by other load than wall time

import argparse  # noqa: E402 - after the clock starts: imports are part of a fresh start
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _env(folder: Path) -> None:
    os.environ.update({"RSAD_DB_URL": f"sqlite:///{folder / 'rsad.sqlite3'}", "RSAD_MODELS_DIR": str(folder / "models"),
                       "RSAD_USERS_FILE": str(folder / "users.json"), "RSAD_DEMO_CANDIDATE": "0",
                       "RSAD_EXPLAIN_TOP": "0", "RSAD_EXPLAIN_AHEAD": "0"})


def quantiles(values: list[float], qs: tuple[float, ...] = (0.1, 0.5, 0.9, 1.0)) -> str:
    import numpy as np

    return ", ".join(f"q{int(q * 100)} {np.quantile(values, q):.4g}" for q in qs)


def now() -> tuple[float, float]:
    """(wall, CPU) seconds since the script started."""
    return time.perf_counter() - T0, time.process_time() - C0


def fresh_start() -> tuple[object, dict[str, tuple[float, float]]]:
    """(a): the store, and the time of each phase since the script started."""
    from rsad.service import review
    from rsad.service.batches import bootstrap, open_store
    from rsad.service.demo_server import announce_first_admin
    from rsad.service.review import QueueFilter

    marks: dict[str, tuple[float, float]] = {"imports": now()}
    store = open_store(project="default")
    announce_first_admin(store.settings)
    marks["store ready (migrations, admin)"] = now()
    phase = {"name": ""}

    def progress(_done: int, _total: int, message: str) -> None:
        name = message.split(":")[0]
        if name != phase["name"]:
            if phase["name"]:
                marks[f"end of {phase['name']}"] = now()
            phase["name"] = name

    result = bootstrap(store, progress=progress)
    marks["scored demo batch, active model"] = now()
    page = review.queue(store, QueueFilter(), limit=15)
    marks["first page of Review"] = now()
    print(f"model {result['model']}: {result['rows']:,} scored, {result['flagged']:,} flagged; "
          f"first page {len(page.rows)} rows of {page.total:,}")
    return store, marks


def cold(store: object, cases: list[int], fixed: int) -> None:
    """(b): early-stopped explanations of ``cases`` (not cached), and ``fixed`` of them at 50 steps."""
    from rsad.data.orm import Case
    from rsad.model.explain import explain
    from rsad.model.versions import active_version, load_classifier

    clf = load_classifier(store, active_version(store))
    with store.session() as s:
        texts = [s.get(Case, c).text for c in cases]
    explain(clf, texts[0], early_stop=True)  # warm-up: the first call checks the [CLS]-only path
    seconds, cpu, steps, rel = [], [], [], []
    for text in texts:
        t, c = time.perf_counter(), time.process_time()
        e = explain(clf, text, early_stop=True)
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        steps.append(e.n_steps)
        rel.append(e.delta / max(abs(e.change), 1e-12))
    print(f"\n(b) cold, early stop, {len(texts)} cases: median {statistics.median(seconds):.3f} s, "
          f"p90 {sorted(seconds)[int(0.9 * (len(seconds) - 1))]:.3f} s; CPU median {statistics.median(cpu):.3f} s")
    print("    steps used: " + ", ".join(f"{n}: {steps.count(n)}" for n in sorted(set(steps))))
    print(f"    |delta| / |F(x) - F(baseline)|: {quantiles(rel)}; within 1 %: "
          f"{sum(r <= 0.01 for r in rel) / len(rel):.0%}")
    if fixed:
        t50 = []
        for text in texts[:fixed]:
            t = time.perf_counter()
            explain(clf, text)
            t50.append(time.perf_counter() - t)
        print(f"    fixed 50 steps, {fixed} of the same cases: median {statistics.median(t50):.3f} s")


def walk(store: object, n: int) -> None:
    """(c): explain ahead in queue order (the follow-up), then the page's cache-first read of each case."""
    from rsad.service import review
    from rsad.service.batches import follow_up
    from rsad.service.review import QueueFilter

    t = time.perf_counter()
    info = follow_up(store, explain=n)["explained"]
    print(f"\n(c) explain-ahead of the first {n} queue cases: {info['computed']} computed in "
          f"{time.perf_counter() - t:.1f} s")
    hits, times = 0, []
    for pos in range(n):
        case_id = review.queue_case_at(store, QueueFilter(), pos)
        t = time.perf_counter()
        out = review.cached_explanation(store, case_id)
        times.append(time.perf_counter() - t)
        hits += out is not None
    print(f"    walk of {n}: hit rate {hits}/{n}; cached read median {1000 * statistics.median(times):.1f} ms, "
          f"max {1000 * max(times):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=30, help="cases for the cold explanation times")
    parser.add_argument("--fixed", type=int, default=5, help="of those, also explained at a fixed 50 steps")
    parser.add_argument("--walk", type=int, default=50, help="cases explained ahead and walked in queue order")
    parser.add_argument("--dir", type=Path, help="store folder (default: a new temporary one)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="rsad-first-minute-"))
    _env(folder)
    store, marks = fresh_start()
    print("\n(a) fresh start, seconds since this script started (wall, CPU of this process):")
    for name, (wall, cpu) in marks.items():
        print(f"    {wall:7.1f} {cpu:7.1f}  {name}")
    load = os.getloadavg()
    print(f"    load average now: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    from rsad.service.review import QueueFilter, queue

    ids = [r["id"] for r in queue(store, QueueFilter(), offset=args.walk, limit=args.cold).rows]
    cold(store, ids, args.fixed)
    walk(store, args.walk)


if __name__ == "__main__":
    main()
