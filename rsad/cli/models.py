"""The CLI's model-lifecycle commands: training from the store, compare, promote, rollback (and it
registers `rsad jobs`, whose commands are in :mod:`rsad.cli.jobs`).

Split from :mod:`rsad.cli.main` (which registers them); heavy imports stay inside the commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rsad.cli.common import (
    Adder,
    Bar,
    acting_user,
    add_columns,
    add_project_flag,
    authorized,
    columns,
    open_store,
    project_flag,
    split,
)
from rsad.cli.jobs import cmd_jobs, cmd_jobs_run, cmd_jobs_stop, not_done
from rsad.config import TRUNCATIONS
from rsad.errors import RsadError
from rsad.i18n import _

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.models import PairedBootstrap, TrainingSet, VersionInfo
    from rsad.service.users import User


def _print_training_set(ts: TrainingSet) -> None:
    print(_("Training set: {describe}.").format(describe=ts.describe()))
    print(ts.counts().to_string(index=False))
    if len(ts.conflicts):
        print(_("Conflicts between analysts ({n}), settled by majority, ties by the latest verdict:").format(
            n=len(ts.conflicts)))
        for c in ts.conflicts.head(20).to_dict("records"):
            print(f"  {c['case_id']}@{c['batch']}: {c['votes']} -> {c['label']} ({c['rule']})")
        if len(ts.conflicts) > 20:
            print(_("  ... and {n} more (see the job log)").format(n=len(ts.conflicts) - 20))


def train_from_store(store: Store, args: argparse.Namespace) -> None:
    from rsad.service import jobs as retrain
    from rsad.service.models import training_set as assemble

    user = acting_user(args)  # rsad.cli.models.cmd_train refused anyone who may not, retrain.start checks again
    ts = assemble(store)
    _print_training_set(ts)
    ts.table()  # refuses an empty set before a job is recorded
    defaults = retrain.RetrainParams()
    params = retrain.RetrainParams(start_from=args.init_from or "base", base_model=args.base or "",
                                   epochs=args.epochs or defaults.epochs, max_length=args.max_length,
                                   batch_size=args.batch_size, seed=args.seed,
                                   learning_rate=args.lr or defaults.learning_rate,
                                   truncation=args.truncation or "")  # empty: as the start version
    job = retrain.start(store, params, user=user, spawn=args.background)
    if args.background:
        print(_("Started training job {id} in the background (pid {pid}). Follow it with `rsad jobs` or in the "
                "app's sidebar.").format(id=job["id"], pid=job["pid"]))
        return
    from rsad.service.jobs import run

    job = run(store, job["id"], progress=Bar("steps"))
    if job["status"] != "done":
        raise RsadError(not_done(job))
    from rsad.service.models import get_version

    print_version(get_version(store, job["version_name"]))
    print(_("Compare it with the active version: rsad compare {version}").format(version=job["version_name"]))


def print_version(info: VersionInfo) -> None:
    m = info.metrics
    print(_("Saved {name} ({status}) in {folder} after {seconds:.0f} s.").format(
        name=info.name, status=info.status, folder=info.folder, seconds=m["train_seconds"]))
    print(_("Validation ({n_val} cases): F1 {f1:.3f}, precision {precision:.3f}, recall {recall:.3f}, "
            "ROC-AUC {roc_auc:.3f}, PR-AUC {pr_auc:.3f} at threshold {threshold:.3f}.").format(
                **{**m, "threshold": info.threshold}))


def cmd_models(args: argparse.Namespace) -> None:
    """List model versions with status, threshold and validation metrics, then the registry history."""
    from rsad.service.models import history, list_versions, trained_on

    store = open_store()
    versions = list_versions(store)
    if not versions:
        print(_("No model versions yet in project {project!r}: `rsad{flag} train-first BATCH` (from a labeled "
                "batch), or `rsad train --data FILE`.").format(project=store.project_name, flag=project_flag(store)))
        return
    # The column keys stay in English in every language: scripts read this table.
    print(f"{'name':8} {'status':10} {'threshold':>9} {'F1':>6} {'ROC-AUC':>8} {'PR-AUC':>7} "
          f"{'trained on':30}  {'created'}")
    for v in versions:
        m = v.metrics
        fitted, held_out = trained_on(m)
        print(f"{v.name:8} {v.status:10} {v.threshold:9.3f} {m.get('f1', float('nan')):6.3f} "
              f"{m.get('roc_auc', float('nan')):8.3f} {m.get('pr_auc', float('nan')):7.3f} "
              f"{f'{fitted} ({held_out})':30}  "
              + _("{when:%Y-%m-%d %H:%M} by {who}").format(when=v.created_at, who=v.created_by))
    events = history(store, limit=args.history)
    if events:
        print("\n" + _("History (newest first):"))
        for e in events:
            prev = _(" (was {version})").format(version=e["previous_active"]) if e["previous_active"] else ""
            print(f"  {e['when']:%Y-%m-%d %H:%M} {e['action']:8} {e['version']:6}{prev} "
                  + _("by {who}: {reason}").format(who=e["by"], reason=e["reason"]))


def cmd_compare(args: argparse.Namespace) -> None:
    """Compare a candidate with the active version (or ACTIVE) on labeled cases neither trained on.

    Prints metrics at each version's own threshold with deltas, the flagged counts on the
    latest batch and the cases where their scores differ most."""
    from rsad.service.models import compare

    out = compare(open_store(), args.candidate, args.active, top=args.top, progress=Bar(None))
    c, a = out["candidate"].name, out["active"].name
    ev = out["evaluation"]
    if ev is None:
        print(_("No evaluation set: {error}").format(error=out["evaluation_error"]))
    else:
        print(_("Evaluation set: {describe}.").format(describe=ev["describe"]))
        print(f"{'metric':14} {c:>10} {a:>10} {'delta':>8}")
        for r in ev["table"].to_dict("records"):
            print(f"{r['metric']:14} {r['candidate']:10.3f} {r['active']:10.3f} {r['delta']:+8.3f}")
        print(f"thresholds     {out['candidate'].threshold:10.3f} {out['active'].threshold:10.3f}")
        _print_bootstrap(ev["bootstrap"], c, a)
    b = out["latest_batch"]
    if b:
        print(_("Latest batch {batch!r} ({rows:,} cases): {c} flags {flagged_candidate:,}, {a} flags "
                "{flagged_active:,} ({delta:+,}; {newly_flagged:,} newly flagged, {no_longer_flagged:,} no longer "
                "flagged).").format(c=c, a=a, delta=b["flagged_candidate"] - b["flagged_active"], **b))
    if ev is not None and len(ev["disagreements"]):
        print(_("Largest disagreements on the evaluation set:"))
        for r in ev["disagreements"].to_dict("records"):
            print(f"  {r['case']:24} {r['label']:8} {c} {r['candidate']:.3f}  {a} {r['active']:.3f}  "
                  f"{r['text'][:60]!r}")


def _print_bootstrap(boot: PairedBootstrap, c: str, a: str) -> None:
    """The verdict line, then each metric's difference with its interval."""
    from rsad.service.models import verdict_line, verdict_word

    print(verdict_line(boot, c, a))
    for m in boot.metrics.values():
        print("  " + _("{metric} {delta:+.3f} ({level:.0%} CI {low:+.3f} to {high:+.3f}): {verdict}").format(
            metric=m.label, delta=m.delta, level=boot.confidence, low=m.low, high=m.high,
            verdict=verdict_word(m.verdict)))
    print("  " + _("Paired bootstrap: {resamples:,} resamples of the same cases, seed {seed}.").format(
        resamples=boot.resamples, seed=boot.seed))


def _rescore_after(store: Store, user: User, args: argparse.Namespace) -> None:
    if args.no_rescore:
        print(_("Not rescored: run `rsad rescore` to score the queue with the new active version."))
    else:
        _rescore(store, user)


def _rescore(store: Store, user: User) -> None:
    from rsad.service.models import rescore

    out = rescore(store, user=user, progress=Bar("cases"))
    print(_("Rescored {scored:,} cases with {model} ({unreviewed:,} unreviewed first, then {reviewed:,} reviewed) "
            "in {seconds:.0f} s.").format(**out))


def cmd_promote(args: argparse.Namespace) -> None:
    """Make a candidate the active version (the current one is retired, not deleted), then rescore.

    Admins only; recorded in the registry history with who (the acting user, see --as) and why (--reason)."""
    from rsad.service.models import promote

    store, user = open_store(), acting_user(args)
    info = promote(store, args.version, user=user, reason=args.reason)
    said = (_("{version} is now active (threshold {threshold:.3f}); {previous} retired.") if info.previous else
            _("{version} is now active (threshold {threshold:.3f}); no version retired."))
    print(said.format(version=info.version.name, threshold=info.version.threshold, previous=info.previous))
    _rescore_after(store, user, args)


def cmd_rollback(args: argparse.Namespace) -> None:
    """Make a retired version active again (the current one is retired), then rescore.

    Admins only; recorded in the registry history with who (the acting user, see --as) and why (--reason)."""
    from rsad.service.models import rollback

    store, user = open_store(), acting_user(args)
    info = rollback(store, args.version, user=user, reason=args.reason)
    print(_("Rolled back to {version} (threshold {threshold:.3f}); {previous} retired.").format(
        version=info.version.name, threshold=info.version.threshold, previous=info.previous))
    _rescore_after(store, user, args)


def cmd_rescore(args: argparse.Namespace) -> None:
    """Score every case the active version has not scored yet (unreviewed first); resumable. Admins only."""
    _rescore(open_store(), acting_user(args))


def add_train(add: Adder) -> None:
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
    add_columns(p, split=True)


def add_commands(add: Adder) -> None:
    """Register the model-lifecycle commands (``add`` names one and sets its help)."""
    p = add("models", cmd_models)
    p.add_argument("--history", type=int, default=20, help="registry events to show (default %(default)s)")
    p = add("compare", cmd_compare)
    p.add_argument("candidate", help="the version to judge")
    p.add_argument("active", nargs="?", help="the version to compare against (default: the active one)")
    p.add_argument("--top", type=int, default=10, help="disagreements to list (default %(default)s)")
    for name, fn in (("promote", cmd_promote), ("rollback", cmd_rollback)):
        p = add(name, fn)
        p.add_argument("version")
        p.add_argument("--reason", default="", help="why (kept in the history; required)")
        p.add_argument("--no-rescore", action="store_true", help="do not rescore the store afterwards")
    add("rescore", cmd_rescore)
    p = add("jobs", cmd_jobs)
    p.add_argument("--limit", type=int, default=10)
    jobs = p.add_subparsers(dest="jobs_command", metavar="COMMAND")
    for name, fn in (("run", cmd_jobs_run), ("stop", cmd_jobs_stop)):
        verb = jobs.add_parser(name, help=fn.__doc__, description=fn.__doc__)
        verb.add_argument("job_id", type=int)
        verb.set_defaults(func=fn)
        add_project_flag(verb)


def cmd_train(args: argparse.Namespace) -> None:
    """Fine-tune a model version from a labeled file (--data) or the store's labels (--from-store).

    --from-store trains on seed labels plus analyst verdicts (each analyst's latest verdict;
    unsure and 'insufficient evidence' left out; disagreements by majority, then the latest)
    as a training job: shown in the app's sidebar, one at a time. With --background it runs
    detached and this command returns at once (watch it with `rsad jobs`)."""
    from rsad.service.models import train_file

    if bool(args.data) == bool(args.from_store):
        raise RsadError(_("Give exactly one of --data FILE or --from-store."))
    user = authorized(args, "START_RETRAINING")
    store = open_store()
    if args.from_store:
        train_from_store(store, args)
        return
    from rsad.service.models import TrainConfig, start_truncation

    config = TrainConfig(epochs=args.epochs or TrainConfig.epochs, base_model=args.base or "",
                         init_from=args.init_from, max_length=args.max_length, batch_size=args.batch_size,
                         seed=args.seed, learning_rate=args.lr or TrainConfig.learning_rate,
                         truncation=args.truncation or start_truncation(store, args.init_from))
    info = train_file(store, args.data, columns=columns(args), split=split(args), config=config,
                      created_by=user.name, progress=Bar("steps"))
    print_version(info)
