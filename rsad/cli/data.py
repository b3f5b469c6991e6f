"""Batch commands: demo, ingest, score, evaluate, export-labels, batches, delete-batch, db upgrade."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rsad.cli.common import (
    Adder,
    Bar,
    acting_user,
    add_columns,
    authorized,
    columns,
    open_store,
    project_flag,
    sigterm_stops,
    split,
)
from rsad.errors import InputError, RsadError
from rsad.i18n import _

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.users import User


def cmd_demo(args: argparse.Namespace) -> None:
    """Build the embedded demo: synthetic platform data, a starter model, a scored batch, explanations.

    A second run reuses what already exists. --lang zh builds the Chinese demo in project demo-zh
    (created if missing) unless --project names another; it fine-tunes that project's base model
    (--base-model FOLDER for a project it creates, e.g. a Chinese BERT)."""
    from rsad.service.batches import bootstrap, demo_store, follow_up, follow_up_lines

    store = demo_store(open_store(), user=acting_user(args), lang=args.lang, project=getattr(args, "project", None),
                       base_model=str(args.base_model or ""))
    summary = bootstrap(store, progress=Bar(None), lang=args.lang)
    for line in summary["log"]:
        print(line, flush=True)
    # then what the desk would do in the background: the first cases of Review explained, and
    # the fine-tuned candidate started as a training job (it outlives this command)
    for line in follow_up_lines(follow_up(store, progress=Bar(None))):
        print(line)


def cmd_ingest(args: argparse.Namespace) -> None:
    """Validate and store a batch file (CSV, TSV, JSONL, Parquet) or an event log (--events)."""
    from rsad.service.batches import describe_map, ingest_file
    from rsad.service.start import active_model_name

    authorized(args, "UPLOAD")
    store = open_store()
    info = ingest_file(store, args.file, name=args.name, uploader=args.uploader,
                       columns=columns(args), events=args.events, strict=args.strict)
    said = (_("Stored batch {name!r} (id {id}): {rows:,} cases, {labeled:,} labeled, ids generated from text.")
            if info["generated_ids"] else _("Stored batch {name!r} (id {id}): {rows:,} cases, {labeled:,} labeled."))
    print(said.format(name=info["name"], id=info["id"], rows=info["rows"], labeled=info["labeled"]))
    if info["label_map"]:
        print(_("Labels in column {column!r}: {mapping}.").format(
            column=info["label_map"]["column"], mapping=describe_map(info["label_map"])))
    if info["skipped"]:
        print_skipped(info, project_flag(store))
    if info.get("vocabulary_warning"):
        print(_("Warning: {text}").format(text=info["vocabulary_warning"]), file=sys.stderr)
    flag = project_flag(store)
    if active_model_name(store) is not None:
        print(_("Next: rsad score {batch}{flag}").format(batch=info["name"], flag=flag))
    elif info["labeled"]:
        print(_("This project has no model yet. Next: rsad train-first {batch}{flag} (then it scores the batch)")
              .format(batch=info["name"], flag=flag))
    else:
        print(_("This project has no model yet. Next: rsad coverage {batch}{flag}, then label its cases on "
                "the Label-to-start page").format(batch=info["name"], flag=flag))


def cmd_skipped(args: argparse.Namespace) -> None:
    """Print the rows of a batch's file that were skipped on upload (CSV), or write them with --out."""
    from rsad.service.batches import skipped_csv

    data = skipped_csv(open_store(), args.batch)
    if args.out is None:
        sys.stdout.write(data.decode())
        return
    args.out.write_bytes(data)
    rows = data.count(b"\r\n") - 1  # to_safe_csv ends lines in CRLF; a CR inside a text is quoted
    print(_("Wrote {n:,} skipped rows to {path}.").format(n=rows, path=args.out))


def print_skipped(info: dict, project: str) -> None:
    """'Skipped N rows:', the first few with their row numbers and reasons, and how to get them all."""
    print(_("Skipped {n:,} rows (row = data row in the file, 1 = the first under the header):").format(
        n=info["skipped"]))
    for row in info["skipped_head"]:
        ident = _(" (id {id})").format(id=row["id"]) if row["id"] else ""
        print(_("  row {row}{ident}: {reason}").format(row=row["row"], ident=ident, reason=row["reason"]))
    left = info["skipped"] - len(info["skipped_head"])
    more = _("{n:,} more; ").format(n=left) if left > 0 else ""
    print(_("  {more}the full list: rsad skipped {batch}{flag} --out skipped.csv").format(
        more=more, batch=info["name"], flag=project))


def cmd_score(args: argparse.Namespace) -> None:
    """Score a batch (name or id) with a model version (the active one by default)."""
    from rsad.service.batches import score_batch
    from rsad.service.models import get_version, load_classifier

    user = authorized(args, "UPLOAD")
    store = open_store()
    if args.engine == "ray" or args.input:
        _score_on_ray(store, user, args)
        return
    if not args.batch:
        raise InputError(_("Name the batch to score (or give --input FILE with --engine ray)."))
    info = score_batch(store, args.batch, model=args.model, progress=Bar())
    print(_("Batch {batch!r}: {rows:,} cases, {scored:,} scored now with {model}; {flagged:,} flagged at "
            "threshold {threshold:.3f}.").format(batch=info["batch"], rows=info["rows"], scored=info["scored_now"],
                                                 model=info["model"], flagged=info["flagged"],
                                                 threshold=info["threshold"]))
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
        print(_("Attributions cached for the top {n} flagged cases ({computed} computed now).").format(
            n=done["cases"], computed=done["computed"]))


def _score_on_ray(store: Store, user: User, args: argparse.Namespace) -> None:
    """``rsad score --engine ray``: a batch, or a file into Parquet (--input/--out), as a job the
    app's job panel shows; a SIGTERM (its Stop button, `rsad jobs stop`) ends it, keeping what was written."""
    if args.engine != "ray":
        raise InputError(_("--input scores a file on Ray: add --engine ray."))
    with sigterm_stops():  # `rsad jobs stop` / the Stop button: Ray is shut down, scores kept
        _ray_run(store, user, args)


def _ray_run(store: Store, user: User, args: argparse.Namespace) -> None:
    from rsad.service import scale

    options = {"model": args.model, "address": args.address or scale.ray_address(), "workers": args.workers,
               "gpus": args.gpus}
    if args.input:
        if not args.out:
            raise InputError(_("--input needs --out FOLDER for the scores (Parquet)."))
        info = scale.score_file_on_ray(store, args.input, args.out, user=user, progress=Bar(), id_column=args.id_col,
                                       text_column=args.text_col, **options)
        print(_("Scored {rows:,} rows of {path} with {model} on Ray; scores in {out}.").format(
            rows=info["rows"], path=args.input, model=info["model"], out=info["out"]))
        return
    if not args.batch:
        raise InputError(_("Name the batch to score (or give --input FILE with --engine ray)."))
    info = scale.score_batch_on_ray(store, args.batch, user=user, progress=Bar(), **options)
    print(_("Batch {batch!r}: {rows:,} cases, {scored:,} scored now on Ray ({workers} workers) with {model}; "
            "{flagged:,} flagged at threshold {threshold:.3f}.").format(
        batch=info["batch"], rows=info["rows"], scored=info["scored_now"], workers=info["workers"],
        model=info["model"], flagged=info["flagged"], threshold=info["threshold"]))


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Score a labeled file with a version and print precision, recall, F1, ROC-AUC, PR-AUC."""
    from rsad.service.models import evaluate_file

    out = evaluate_file(open_store(), args.data, model=args.model, columns=columns(args),
                        split=split(args), threshold=args.threshold, progress=Bar())
    m = out["metrics"]
    print(_("Model {model} on {n:,} cases ({anomalies:,} anomalies), threshold {threshold:.3f}").format(
        model=out["model"], n=m["n"], anomalies=m["n_anomalies"], threshold=m["threshold"]))
    print(f"accuracy {m['accuracy']:.4f}  precision {m['precision']:.4f}  recall {m['recall']:.4f}  "
          f"F1 {m['f1']:.4f}  ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}")
    print(out["report"])


def cmd_export_labels(args: argparse.Namespace) -> None:
    """Write the current labels (seed labels + latest verdicts) to CSV or Parquet, ready for `rsad train`."""
    from rsad.service.labels import export_labels

    authorized(args, "EXPORT_LABELS")
    info = export_labels(open_store(), args.out)
    print(_("Wrote {n:,} labels ({anomalies:,} anomalies) to {path}.").format(
        n=info["rows"], anomalies=info["anomalies"], path=info["path"]))


def cmd_batches(args: argparse.Namespace) -> None:
    """List batches with their counts (scored and flagged under the active model); foreign ones marked."""
    from rsad.service.batches import overview
    from rsad.service.drift import batch_checks

    store = open_store()
    info = overview(store)
    if not info["batches"]:
        said = (_("No batches in project {project!r} yet: `rsad{flag} ingest FILE` or `rsad demo`.")
                if store.project_name == "default" else
                _("No batches in project {project!r} yet: `rsad{flag} ingest FILE`."))
        print(said.format(project=store.project_name, flag=project_flag(store)))
    foreign = {c["batch_id"] for c in batch_checks(store) if c["foreign"]}
    for b in info["batches"]:
        print(f"{b['id']:4} {b['name']:30} "
              + _("{rows:8,} rows  {labeled:8,} labeled  {scored:8,} scored  {flagged:6,} flagged  "
                  "{reviewed:6,} reviewed").format(**b)
              + (_("  {n:,} skipped on upload").format(n=b["skipped"]) if b.get("skipped") else "")
              + (_("  FOREIGN to the active model") if b["id"] in foreign else ""))
    if foreign:
        print(_("FOREIGN: the batch looks unlike what the active model was validated on (see the Overview page)."))


def cmd_delete_batch(args: argparse.Namespace) -> None:
    """Delete a batch and everything recorded on it, verdicts included (export labels first)."""
    from rsad.service.batches import delete_batch

    if not args.yes:
        raise RsadError(_("This deletes batch {batch!r} with its verdicts: add --yes to confirm.").format(
            batch=args.batch))
    info = delete_batch(open_store(), args.batch, user=acting_user(args))
    print(_("Deleted batch {name!r}: {cases:,} cases, {verdicts:,} verdicts.").format(
        name=info["name"], cases=info["cases"], verdicts=info["verdicts"]))


def add_commands(add: Adder) -> None:
    """Register the batch commands (``add`` names one and sets its help)."""
    p = add("demo", cmd_demo)
    # The data's language is chosen here only, never from RSAD_LANG (the language the desk speaks):
    # a desk shown in Chinese may well review English data, and the Chinese demo needs its own
    # project and a base model that reads Chinese, which nobody should get by surprise.
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help=_("language of the demo's texts (default %(default)s; zh: in project demo-zh unless "
                          "--project)"))
    p.add_argument("--base-model", type=Path, metavar="FOLDER",
                   help=_("a Hugging Face model folder the demo's project fine-tunes, for a project the demo "
                          "creates (default: RSAD_BASE_MODEL, else the embedded MiniLM)"))
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
    p.add_argument("batch", nargs="?", help="batch name or id (none with --input)")
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process; ray: Ray Data actors (pip install 'rsad[ray]')")
    p.add_argument("--address", help="Ray cluster address (default RSAD_RAY_ADDRESS, else a local Ray)")
    p.add_argument("--workers", type=int, default=1, help="Ray: model replicas (default %(default)s)")
    p.add_argument("--gpus", type=float, default=0.0, help="Ray: GPUs per replica (default 0: one CPU each)")
    p.add_argument("--input", type=Path, metavar="FILE",
                   help="Ray: score a Parquet/CSV file (or folder) too big to ingest, into --out")
    p.add_argument("--out", type=Path, metavar="FOLDER", help="with --input: Parquet files of case_id, score")
    p.add_argument("--id-col", default="case_id", help="with --input: id column (default %(default)s)")
    p.add_argument("--text-col", default="behavior_description",
                   help="with --input: text column (default %(default)s)")
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

