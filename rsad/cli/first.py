"""The CLI's first-model commands: the coverage order of a batch, and training a project's first model."""

from __future__ import annotations

import argparse

from rsad.cli.common import Adder, Bar, acting_user, open_store
from rsad.errors import RsadError
from rsad.i18n import _


def cmd_coverage(args: argparse.Namespace) -> None:
    """Order a batch's unranked cases for the "label to start" queue (clusters of the project's base model).

    Embeds the cases with the project's base model, clusters them and ranks them so the first
    ones cover every cluster; the Label-to-start page shows them in that order."""
    from rsad.service.start import rank_for_coverage

    out = rank_for_coverage(open_store(), args.batch, progress=Bar("cases"))
    if not out["ranked"]:
        print(_("Batch {batch!r}: every case is ranked already.").format(batch=out["batch"]))
        return
    rest = out["ranked"] - out["embedded"]
    said = (_("Ranked {n:,} cases of batch {batch!r} in {clusters} clusters in {seconds:.1f} s ({rest:,} "
              "beyond the embedded sample ranked last, by id).") if rest else
            _("Ranked {n:,} cases of batch {batch!r} in {clusters} clusters in {seconds:.1f} s."))
    print(said.format(n=out["ranked"], batch=out["batch"], clusters=out["clusters"], seconds=out["seconds"],
                      rest=rest))


def cmd_train_first(args: argparse.Namespace) -> None:
    """Train the project's first model from its labels, then score BATCH with it (admins only).

    Refused when the project already has an active model (retrain it instead). Runs as a
    training job (one at a time, shown in the app's sidebar); this command waits for it with a
    progress bar, or with --background returns at once (watch it with `rsad jobs`)."""
    from rsad.service import jobs as retrain

    store, user = open_store(), acting_user(args)
    # epochs 0: the first model's recipe (epochs by the number of labels)
    params = retrain.RetrainParams(epochs=args.epochs or 0, max_length=args.max_length)
    job = retrain.start_first_model(store, args.batch, user=user, params=params, spawn=args.background)
    if args.background:
        print(_("Started training job {id} in the background (pid {pid}): it trains the first model, then "
                "scores batch {batch!r}. Follow it with `rsad jobs`.").format(
                    id=job["id"], pid=job["pid"], batch=args.batch))
        return
    job = retrain.run(store, job["id"], progress=Bar("steps"))
    if job["status"] != "done":
        raise RsadError(_("Training job {id} {status}: {error}").format(
            id=job["id"], status=job["status"], error=job["error"] or job["message"]))
    scored = next((line.split(" ", 2)[-1] for line in job["log"].splitlines() if " Scored batch " in line), "")
    print(_("{version} is the project's active model. {scored}").format(version=job["version_name"], scored=scored))


def add_commands(add: Adder) -> None:
    p = add("coverage", cmd_coverage)
    p.add_argument("batch", help="batch name or id")
    p = add("train-first", cmd_train_first)
    p.add_argument("batch", help="the batch to score with the new model (name or id)")
    p.add_argument("--epochs", type=int,
                   help="passes over the labels (default: 4 up to 2,000 labels, 2 up to 5,000, else 1; "
                        "early stopping ends them sooner)")
    p.add_argument("--max-length", type=int, default=128,
                   help="tokens the model reads per text (default %(default)s)")
    p.add_argument("--background", action="store_true", help="run detached and return at once")
