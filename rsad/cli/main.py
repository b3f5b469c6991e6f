"""rsad: score, review and retrain anomaly detection for behavior records.

Each command's help is its function's docstring. Heavy libraries (torch, transformers) are
imported inside the commands that need them, so `rsad --help` and `rsad models` stay quick.

Who a command acts as (see :func:`acting_user`): the operator at the server's shell is an admin,
``cli:<login>``; ``--as NAME`` or ``RSAD_USER=NAME`` acts as that user of the user file, with
that user's role. Either way every action goes through :mod:`rsad.auth.policies`, as on the pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rsad.cli import users as cli_users
from rsad.cli import models as cli_models
from rsad.config import TRUNCATIONS
from rsad.errors import RsadError


def _store():
    from rsad.service.api import open_store

    return open_store()


def acting_user(args: argparse.Namespace):  # noqa: ANN201 - rsad.auth.users.User, imported lazily
    """Who this command acts as (``--as``, else RSAD_USER, else the shell's admin: rsad.auth.users.cli_user)."""
    from rsad.auth.users import cli_user
    from rsad.config import get_settings

    return cli_user(get_settings(), getattr(args, "as_user", None))


def authorized(args: argparse.Namespace, action: str):  # noqa: ANN201
    """The acting user, if rsad.auth.policies lets them do ``action`` (an Action name); else AccessError."""
    from rsad.auth import policies

    return policies.authorize(acting_user(args), policies.Action[action])


def _columns(args: argparse.Namespace):
    from rsad.data.ingest import ColumnMap

    return ColumnMap(text=args.text_col, label=args.label_col, id=args.id_col)


def _split(args: argparse.Namespace) -> tuple[str, str] | None:
    return (args.split_col, args.split) if args.split else None


class _Bar:
    """A one-line progress display on stderr with rate and ETA."""

    def __init__(self, unit: str | None = "rows") -> None:
        from rsad.progress import Rate

        # unit None: the counts are a made-up scale (several phases), show percent and ETA only.
        self.rate, self.unit, self.last = Rate(), unit, 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        from rsad.progress import format_seconds

        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        pct = 100 * done / total if total else 100
        if self.unit:
            detail = self.rate.describe(done, total, self.unit)
        else:
            eta = self.rate.eta_seconds(done, total)
            detail = f"about {format_seconds(eta)} left" if eta is not None and 0 < done < total else ""
        clear = "\033[K" if sys.stderr.isatty() else ""
        sys.stderr.write(f"\r{clear}{message}: {pct:5.1f}% {detail}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_demo(args: argparse.Namespace) -> None:
    """Build the embedded demo: synthetic platform data, a starter model, a scored batch.

    A second run reuses what already exists."""
    from rsad.ops.demo import bootstrap

    summary = bootstrap(_store(), progress=_Bar(None))
    for line in summary["log"]:
        print(line)


def cmd_ingest(args: argparse.Namespace) -> None:
    """Validate and store a batch file (CSV, TSV, JSONL, Parquet) or an event log (--events)."""
    from rsad.service.api import ingest_file

    authorized(args, "UPLOAD")
    info = ingest_file(_store(), args.file, name=args.name, uploader=args.uploader,
                       columns=_columns(args), events=args.events)
    print(f"Stored batch {info['name']!r} (id {info['id']}): {info['rows']:,} cases, "
          f"{info['labeled']:,} labeled{', ids generated from text' if info['generated_ids'] else ''}.")
    print(f"Next: rsad score {info['name']}")


def cmd_score(args: argparse.Namespace) -> None:
    """Score a batch (name or id) with a model version (the active one by default)."""
    from rsad.service.api import get_version, load_classifier, score_batch

    authorized(args, "UPLOAD")
    store = _store()
    info = score_batch(store, args.batch, model=args.model, progress=_Bar())
    print(f"Batch {info['batch']!r}: {info['rows']:,} cases, {info['scored_now']:,} scored now with "
          f"{info['model']}; {info['flagged']:,} flagged at threshold {info['threshold']:.3f}.")
    top = store.settings.explain_top if args.explain_top is None else args.explain_top
    version = get_version(store, args.model)
    if top and info["flagged"] and version["status"] == "active":
        # A CLI process ends with the command: the app's background precompute runs here in
        # the foreground, so the Review page opens these cases from the cache.
        from rsad.ops.precompute import precompute_explanations

        # A loader: the model loads again only if some of these cases are not cached yet.
        done = precompute_explanations(store, info["batch_id"], lambda: load_classifier(store, version), top,
                                       progress=_Bar("cases"))
        print(f"Attributions cached for the top {done['cases']} flagged cases ({done['computed']} computed now).")


def cmd_train(args: argparse.Namespace) -> None:
    """Fine-tune a model version from a labeled file (--data) or the store's labels (--from-store).

    --from-store trains on seed labels plus analyst verdicts (each analyst's latest verdict;
    unsure and 'insufficient evidence' left out; disagreements by majority, then the latest)
    as a training job: shown in the app's sidebar, one at a time. With --background it runs
    detached and this command returns at once (watch it with `rsad jobs`)."""
    from rsad.service.api import train_file

    if bool(args.data) == bool(args.from_store):
        raise RsadError("Give exactly one of --data FILE or --from-store.")
    user = authorized(args, "START_RETRAINING")
    store = _store()
    if args.from_store:
        cli_models.train_from_store(store, args)
        return
    from rsad.service.api import start_truncation
    from rsad.model.card import TrainConfig

    config = TrainConfig(epochs=args.epochs or TrainConfig.epochs, base_model=args.base or "",
                         init_from=args.init_from, max_length=args.max_length, batch_size=args.batch_size,
                         seed=args.seed, learning_rate=args.lr or TrainConfig.learning_rate,
                         truncation=args.truncation or start_truncation(store, args.init_from))
    info = train_file(store, args.data, columns=_columns(args), split=_split(args), config=config,
                      created_by=user.name, progress=_Bar("steps"))
    cli_models.print_version(info)


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Score a labeled file with a version and print precision, recall, F1, ROC-AUC, PR-AUC."""
    from rsad.service.api import evaluate_file

    out = evaluate_file(_store(), args.data, model=args.model, columns=_columns(args),
                        split=_split(args), threshold=args.threshold, progress=_Bar())
    m = out["metrics"]
    print(f"Model {out['model']} on {m['n']:,} cases ({m['n_anomalies']:,} anomalies), threshold {m['threshold']:.3f}")
    print(f"accuracy {m['accuracy']:.4f}  precision {m['precision']:.4f}  recall {m['recall']:.4f}  "
          f"F1 {m['f1']:.4f}  ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}")
    print(out["report"])


def cmd_export_labels(args: argparse.Namespace) -> None:
    """Write the current labels (seed labels + latest verdicts) to CSV or Parquet, ready for `rsad train`."""
    from rsad.service.api import export_labels

    authorized(args, "EXPORT_LABELS")
    info = export_labels(_store(), args.out)
    print(f"Wrote {info['rows']:,} labels ({info['anomalies']:,} anomalies) to {info['path']}.")


def cmd_batches(args: argparse.Namespace) -> None:
    """List batches with their counts (scored and flagged under the active model)."""
    from rsad.service.api import overview

    info = overview(_store())
    if not info["batches"]:
        print("No batches yet: `rsad ingest FILE` or `rsad demo`.")
    for b in info["batches"]:
        print(f"{b['id']:4} {b['name']:30} {b['rows']:8,} rows  {b['labeled']:8,} labeled  "
              f"{b['scored']:8,} scored  {b['flagged']:6,} flagged  {b['reviewed']:6,} reviewed")


def _threshold_row(label: str, thr: float, m: dict) -> str:
    flagged = "-" if m["batch_flagged"] is None else f"{m['batch_flagged']:,}"
    return (f"{label:16} {thr:9.4f} {m['precision']:9.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
            f"{m['fpr']:6.3f} {m['flagged_rate']:8.3f} {flagged:>9}")


def cmd_thresholds(args: argparse.Namespace) -> None:
    """Evaluate a version on labels it did not train on, compare threshold pickers, and
    optionally save the chosen threshold (--save).

    Pickers: max-f1 | precision=0.9 | recall=0.8 | fpr=0.01 | cost=5 (a missed anomaly costs
    as much as 5 false alarms) | capacity=300 (cases the team reviews a day, against the latest
    batch, or --daily-volume).
    """
    from rsad.evaluation import thresholds as th

    chosen = th.parse_pick(args.pick)
    # Refused before the evaluation, not after it; th.save checks again.
    user = authorized(args, "SAVE_THRESHOLD") if args.save else None
    store = _store()
    rep = th.report(store, args.model, progress=_Bar("cases"))
    ev = rep.eval
    print(f"Model {rep.version['name']} ({rep.version['status']}), saved threshold "
          f"{rep.version['threshold']:.4f}. Evaluation set: {ev.describe()}.")
    a = rep.aucs
    print(f"ROC-AUC {a['roc_auc']:.4f}  PR-AUC {a['pr_auc']:.4f}.  Latest batch: "
          + (f"{rep.batch!r}, {rep.batch_rows:,} cases" if rep.batch_scores is not None
             else "none scored by this version (flagged counts and capacity unavailable)"))
    print(f"\n{'picker':16} {'threshold':>9} {'precision':>9} {'recall':>6} {'F1':>6} {'FPR':>6} "
          f"{'flagged%':>8} {'in batch':>9}")
    print(_threshold_row("saved", rep.version["threshold"], rep.at(rep.version["threshold"])))
    specs = [th.Pick("max-f1"), th.Pick("precision", 0.9), th.Pick("recall", 0.8), th.Pick("fpr", 0.01),
             th.Pick("cost", 5)]
    if rep.batch_scores is not None:
        specs.append(th.Pick("capacity", 300))
    if chosen not in specs:
        specs.append(chosen)
    picked = {}
    for spec in specs:
        try:
            picked[spec] = t = rep.pick(spec, args.daily_volume)
        except RsadError as exc:
            print(f"{spec.label:16} {'':9} {exc}")
            continue
        print(_threshold_row(spec.label, t, rep.at(t)))
    cal = th.calibration(rep)
    print(f"\nCalibration: temperature {cal['temperature']:.3f} (fitted on {cal['fitted_on']} cases); "
          f"ECE {cal['before']['ece']:.4f} -> {cal['after']['ece']:.4f}, "
          f"Brier {cal['before']['brier']:.4f} -> {cal['after']['brier']:.4f}.")
    if args.segment:
        print(f"\nBy {args.segment} at the saved threshold:")
        for r in th.segment_table(rep.labels, rep.scores, ev.meta, args.segment, rep.version["threshold"],
                                  own_thresholds=True):
            print(f"  {r['segment'][:24]:24} {r['cases']:6,} cases {r['anomalies']:5,} anomalies  "
                  f"precision {th.shown(r['precision'], '.3f')} recall {th.shown(r['recall'], '.3f')} "
                  f"FPR {th.shown(r['fpr'], '.3f')} flagged {r['flagged_rate']:.3f}  "
                  f"own threshold {th.shown(r['own_threshold'], '.4f')}")
    if chosen not in picked:
        raise RsadError(f"The picker {chosen.label} gave no threshold (see above).")
    print(f"\nChosen ({chosen.label}): threshold {picked[chosen]:.4f}.")
    if args.save:
        out = th.save(store, rep.version["name"], picked[chosen], user=user, method=chosen.label,
                      reason=args.reason)
        print(f"Saved: {out['model']} threshold {out['old']:.4f} -> {out['new']:.4f}.")


def cmd_delete_batch(args: argparse.Namespace) -> None:
    """Delete a batch and everything recorded on it, verdicts included (export labels first)."""
    from rsad.service.api import delete_batch

    if not args.yes:
        raise RsadError(f"This deletes batch {args.batch!r} with its verdicts: add --yes to confirm.")
    info = delete_batch(_store(), args.batch, user=acting_user(args))
    print(f"Deleted batch {info['name']!r}: {info['cases']:,} cases, {info['verdicts']:,} verdicts.")


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    """Create or upgrade the store's schema to the newest migration."""
    from rsad.config import get_settings
    from rsad.data.db import make_engine, upgrade

    settings = get_settings()
    print(f"Store at revision {upgrade(make_engine(settings.db_url))} ({settings.db_url}).")


def _add_columns(p: argparse.ArgumentParser, split: bool = False) -> None:
    p.add_argument("--text-col", default="behavior_description", help="text column (default %(default)s)")
    p.add_argument("--label-col", default="is_anomaly", help="label column (default %(default)s)")
    p.add_argument("--id-col", default="case_id", help="id column (default %(default)s)")
    if split:
        p.add_argument("--split", help="use only rows whose split column has this value (e.g. train)")
        p.add_argument("--split-col", default="split", help="split column (default %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsad", description=__doc__.splitlines()[0])
    parser.add_argument("--as", dest="as_user", metavar="NAME",
                        help="act as this user of the user file, with its role (default: $RSAD_USER, "
                             "else the shell's admin cli:<login>); recorded as who did it")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], None]) -> argparse.ArgumentParser:
        doc = fn.__doc__ or ""
        p = sub.add_parser(name, help=doc.splitlines()[0], description=doc)
        p.set_defaults(func=fn)
        return p

    add("demo", cmd_demo)
    p = add("ingest", cmd_ingest)
    p.add_argument("file", type=Path)
    p.add_argument("--name", help="batch name (default: the file name)")
    p.add_argument("--uploader", default="cli")
    p.add_argument("--events", action="store_true", help="the file is an event log: describe users first")
    _add_columns(p)
    p = add("score", cmd_score)
    p.add_argument("batch", help="batch name or id")
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--explain-top", type=int, default=None, metavar="N",
                   help="then cache attributions of the top N flagged cases (default RSAD_EXPLAIN_TOP; 0: none)")
    p = add("train", cmd_train)
    p.add_argument("--data", type=Path, help="labeled file in the batch schema")
    p.add_argument("--from-store", action="store_true", help="train on the store's current labels")
    p.add_argument("--epochs", type=int, help="passes over the data (default: 4 from a file, 1 from the store)")
    p.add_argument("--base", help="base model: HF folder or hub id (default RSAD_BASE_MODEL)")
    p.add_argument("--init-from", help="continue from this version (or 'active') instead of the base model")
    p.add_argument("--max-length", type=int, default=128, help="tokens the model reads per text (default 128)")
    p.add_argument("--truncation", choices=TRUNCATIONS, default=None,
                   help="longer texts: keep the start (head) or the start and the end (head_tail); "
                        "default: as the --init-from version, else head")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lr", type=float, help="learning rate (default 5e-5)")
    p.add_argument("--background", action="store_true", help="with --from-store: run detached, return at once")
    _add_columns(p, split=True)
    p = add("evaluate", cmd_evaluate)
    p.add_argument("--data", type=Path, required=True, help="labeled file in the batch schema")
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--threshold", type=float, help="override the version's threshold")
    _add_columns(p, split=True)
    p = add("export-labels", cmd_export_labels)
    p.add_argument("out", type=Path, help="output file, .csv or .parquet")
    add("batches", cmd_batches)
    p = add("thresholds", cmd_thresholds)
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--pick", default="max-f1", help="picker to choose with (default %(default)s)")
    p.add_argument("--daily-volume", type=int, help="cases a day, for capacity (default: the latest batch)")
    p.add_argument("--segment", help="also show numbers per value of this metadata column")
    p.add_argument("--save", action="store_true", help="store the chosen threshold on the version")
    p.add_argument("--reason", default="", help="why (kept in the threshold history)")
    cli_models.add_commands(sub, add)
    p = add("delete-batch", cmd_delete_batch)
    p.add_argument("batch", help="batch name or id")
    p.add_argument("--yes", action="store_true", help="confirm: the batch's verdicts are deleted too")
    cli_users.add_parsers(sub)
    db = sub.add_parser("db", help="store schema commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help=cmd_db_upgrade.__doc__)
    up.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except RsadError as exc:
        print(f"rsad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rsad: interrupted; finished chunks were kept.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
