"""Batch commands: demo, ingest, score, evaluate, export-labels, batches, delete-batch, db upgrade."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rsad.cli.common import (
    Adder,
    Bar,
    acting_user,
    add_columns,
    authorized,
    columns,
    open_store,
    project_flag,
    split,
)
from rsad.errors import RsadError
from rsad.i18n import _


def cmd_demo(args: argparse.Namespace) -> None:
    """Build the embedded demo: synthetic platform data, a starter model, a scored batch.

    A second run reuses what already exists."""
    from rsad.service.batches import bootstrap

    summary = bootstrap(open_store(), progress=Bar(None))
    for line in summary["log"]:
        print(line)


def cmd_ingest(args: argparse.Namespace) -> None:
    """Validate and store a batch file (CSV, TSV, JSONL, Parquet) or an event log (--events)."""
    from rsad.service.batches import describe_map, ingest_file
    from rsad.service.start import active_model_name

    authorized(args, "UPLOAD")
    store = open_store()
    info = ingest_file(store, args.file, name=args.name, uploader=args.uploader,
                       columns=columns(args), events=args.events, strict=args.strict)
    print(f"Stored batch {info['name']!r} (id {info['id']}): {info['rows']:,} cases, "
          f"{info['labeled']:,} labeled{', ids generated from text' if info['generated_ids'] else ''}.")
    if info["label_map"]:
        print(f"Labels in column {info['label_map']['column']!r}: {describe_map(info['label_map'])}.")
    if info["skipped"]:
        print_skipped(info, project_flag(store))
    if info.get("vocabulary_warning"):
        print(_("Warning: {text}").format(text=info["vocabulary_warning"]), file=sys.stderr)
    flag = project_flag(store)
    if active_model_name(store) is not None:
        print(f"Next: rsad score {info['name']}{flag}")
    elif info["labeled"]:
        print(f"This project has no model yet. Next: rsad train-first {info['name']}{flag} (then it scores the batch)")
    else:
        print(f"This project has no model yet. Next: rsad coverage {info['name']}{flag}, then label its cases on "
              "the Label-to-start page")


def cmd_skipped(args: argparse.Namespace) -> None:
    """Print the rows of a batch's file that were skipped on upload (CSV), or write them with --out."""
    from rsad.service.batches import skipped_csv

    data = skipped_csv(open_store(), args.batch)
    if args.out is None:
        sys.stdout.write(data.decode())
        return
    args.out.write_bytes(data)
    rows = data.count(b"\r\n") - 1  # to_safe_csv ends lines in CRLF; a CR inside a text is quoted
    print(f"Wrote {rows:,} skipped rows to {args.out}.")


def print_skipped(info: dict, project: str) -> None:
    """'Skipped N rows:', the first few with their row numbers and reasons, and how to get them all."""
    print(f"Skipped {info['skipped']:,} rows (row = data row in the file, 1 = the first under the header):")
    for row in info["skipped_head"]:
        ident = f" (id {row['id']})" if row["id"] else ""
        print(f"  row {row['row']}{ident}: {row['reason']}")
    left = info["skipped"] - len(info["skipped_head"])
    more = f"{left:,} more; " if left > 0 else ""
    print(f"  {more}the full list: rsad skipped {info['name']}{project} --out skipped.csv")


def cmd_score(args: argparse.Namespace) -> None:
    """Score a batch (name or id) with a model version (the active one by default)."""
    from rsad.service.batches import score_batch
    from rsad.service.models import get_version, load_classifier

    authorized(args, "UPLOAD")
    store = open_store()
    info = score_batch(store, args.batch, model=args.model, progress=Bar())
    print(f"Batch {info['batch']!r}: {info['rows']:,} cases, {info['scored_now']:,} scored now with "
          f"{info['model']}; {info['flagged']:,} flagged at threshold {info['threshold']:.3f}.")
    from rsad.service.drift import score_warnings

    for warning in score_warnings(store, info):
        print(_("Warning: {text}").format(text=warning), file=sys.stderr)
    top = store.settings.explain_top if args.explain_top is None else args.explain_top
    version = get_version(store, args.model)
    if top and info["flagged"] and version.status == "active":
        # A CLI process ends with the command: the app's background precompute runs here in
        # the foreground, so the Review page opens these cases from the cache.
        from rsad.service.batches import precompute_explanations

        # A loader: the model loads again only if some of these cases are not cached yet.
        done = precompute_explanations(store, info["batch_id"], lambda: load_classifier(store, version), top,
                                       progress=Bar("cases"))
        print(f"Attributions cached for the top {done['cases']} flagged cases ({done['computed']} computed now).")


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Score a labeled file with a version and print precision, recall, F1, ROC-AUC, PR-AUC."""
    from rsad.service.models import evaluate_file

    out = evaluate_file(open_store(), args.data, model=args.model, columns=columns(args),
                        split=split(args), threshold=args.threshold, progress=Bar())
    m = out["metrics"]
    print(f"Model {out['model']} on {m['n']:,} cases ({m['n_anomalies']:,} anomalies), threshold {m['threshold']:.3f}")
    print(f"accuracy {m['accuracy']:.4f}  precision {m['precision']:.4f}  recall {m['recall']:.4f}  "
          f"F1 {m['f1']:.4f}  ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}")
    print(out["report"])


def cmd_export_labels(args: argparse.Namespace) -> None:
    """Write the current labels (seed labels + latest verdicts) to CSV or Parquet, ready for `rsad train`."""
    from rsad.service.labels import export_labels

    authorized(args, "EXPORT_LABELS")
    info = export_labels(open_store(), args.out)
    print(f"Wrote {info['rows']:,} labels ({info['anomalies']:,} anomalies) to {info['path']}.")


def cmd_batches(args: argparse.Namespace) -> None:
    """List batches with their counts (scored and flagged under the active model); foreign ones marked."""
    from rsad.service.batches import overview
    from rsad.service.drift import batch_checks

    store = open_store()
    info = overview(store)
    if not info["batches"]:
        print(f"No batches in project {store.project_name!r} yet: `rsad{project_flag(store)} ingest FILE`"
              + (" or `rsad demo`." if store.project_name == "default" else "."))
    foreign = {c["batch_id"] for c in batch_checks(store) if c["foreign"]}
    for b in info["batches"]:
        print(f"{b['id']:4} {b['name']:30} {b['rows']:8,} rows  {b['labeled']:8,} labeled  "
              f"{b['scored']:8,} scored  {b['flagged']:6,} flagged  {b['reviewed']:6,} reviewed"
              + (f"  {b['skipped']:,} skipped on upload" if b.get("skipped") else "")
              + ("  FOREIGN to the active model" if b["id"] in foreign else ""))
    if foreign:
        print("FOREIGN: the batch looks unlike what the active model was validated on (see the Overview page).")


def cmd_delete_batch(args: argparse.Namespace) -> None:
    """Delete a batch and everything recorded on it, verdicts included (export labels first)."""
    from rsad.service.batches import delete_batch

    if not args.yes:
        raise RsadError(f"This deletes batch {args.batch!r} with its verdicts: add --yes to confirm.")
    info = delete_batch(open_store(), args.batch, user=acting_user(args))
    print(f"Deleted batch {info['name']!r}: {info['cases']:,} cases, {info['verdicts']:,} verdicts.")


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    """Create or upgrade the store's schema to the newest migration."""
    from rsad.config import get_settings
    from rsad.service.batches import upgrade_schema

    settings = get_settings()
    print(f"Store at revision {upgrade_schema(settings)} ({settings.db_url}).")


def add_commands(add: Adder) -> None:
    """Register the batch commands (``add`` names one and sets its help)."""
    add("demo", cmd_demo)
    p = add("ingest", cmd_ingest)
    p.add_argument("file", type=Path)
    p.add_argument("--name", help="batch name (default: the file name)")
    p.add_argument("--uploader", default="cli")
    p.add_argument("--events", action="store_true", help="the file is an event log: describe users first")
    p.add_argument("--strict", action="store_true",
                   help="refuse the whole file if any row is unusable (default: skip such rows and list them)")
    add_columns(p)
    p = add("skipped", cmd_skipped)
    p.add_argument("batch", help="batch name or id")
    p.add_argument("--out", type=Path, help="write the CSV to this file (default: print it)")
    p = add("score", cmd_score)
    p.add_argument("batch", help="batch name or id")
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--explain-top", type=int, default=None, metavar="N",
                   help="then cache attributions of the top N flagged cases (default RSAD_EXPLAIN_TOP; 0: none)")


def add_label_commands(add: Adder) -> None:
    p = add("evaluate", cmd_evaluate)
    p.add_argument("--data", type=Path, required=True, help="labeled file in the batch schema")
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--threshold", type=float, help="override the version's threshold")
    add_columns(p, split=True)
    p = add("export-labels", cmd_export_labels)
    p.add_argument("out", type=Path, help="output file, .csv or .parquet")
    add("batches", cmd_batches)


def add_admin_commands(add: Adder) -> None:
    p = add("delete-batch", cmd_delete_batch)
    p.add_argument("batch", help="batch name or id")
    p.add_argument("--yes", action="store_true", help="confirm: the batch's verdicts are deleted too")


def add_db_commands(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="store schema commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help=cmd_db_upgrade.__doc__)
    up.set_defaults(func=cmd_db_upgrade)
