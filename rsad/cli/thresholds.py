"""`rsad thresholds`: a version's evaluation, the threshold pickers side by side, and saving one."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rsad.cli.common import Adder, Bar, authorized, open_store
from rsad.errors import RsadError
from rsad.i18n import _

if TYPE_CHECKING:  # the service layer loads its libraries only when a command runs
    from rsad.service.thresholds import Report


def _threshold_row(label: str, thr: float, m: dict) -> str:
    flagged = "-" if m["batch_flagged"] is None else f"{m['batch_flagged']:,}"
    return (f"{label:16} {thr:9.4f} {m['precision']:9.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
            f"{m['fpr']:6.3f} {m['flagged_rate']:8.3f} {flagged:>9}")


def _print_segments(rep: Report, segment: str) -> None:
    """The numbers per value of metadata column ``segment``, at the saved threshold."""
    from rsad.service import thresholds as th

    print("\n" + _("By {segment} at the saved threshold:").format(segment=segment))
    for r in th.segment_table(rep.labels, rep.scores, rep.eval.meta, segment, rep.version.threshold,
                              own_thresholds=True):
        print(f"  {r['segment'][:24]:24} " + _(
            "{cases:6,} cases {anomalies:5,} anomalies  precision {precision} recall {recall} FPR {fpr} "
            "flagged {flagged:.3f}  own threshold {own}").format(
                cases=r["cases"], anomalies=r["anomalies"], precision=th.shown(r["precision"], ".3f"),
                recall=th.shown(r["recall"], ".3f"), fpr=th.shown(r["fpr"], ".3f"), flagged=r["flagged_rate"],
                own=th.shown(r["own_threshold"], ".4f")))


def cmd_thresholds(args: argparse.Namespace) -> None:
    """Evaluate a version on labels it did not train on, compare threshold pickers, and
    optionally save the chosen threshold (--save).

    Pickers: max-f1 | precision=0.9 | recall=0.8 | fpr=0.01 | cost=5 (a missed anomaly costs
    as much as 5 false alarms) | capacity=300 (cases the team reviews a day, against the latest
    batch, or --daily-volume).
    """
    from rsad.service import thresholds as th

    chosen = th.parse_pick(args.pick)
    # Refused before the evaluation, not after it; th.save checks again.
    user = authorized(args, "SAVE_THRESHOLD") if args.save else None
    store = open_store()
    rep = th.report(store, args.model, progress=Bar("cases"))
    ev = rep.eval
    print(_("Model {name} ({status}), saved threshold {threshold:.4f}. Evaluation set: {describe}.").format(
        name=rep.version.name, status=rep.version.status, threshold=rep.version.threshold, describe=ev.describe()))
    a = rep.aucs
    print(f"ROC-AUC {a['roc_auc']:.4f}  PR-AUC {a['pr_auc']:.4f}.  "
          + (_("Latest batch: {batch!r}, {rows:,} cases").format(batch=rep.batch, rows=rep.batch_rows)
             if rep.batch_scores is not None
             else _("Latest batch: none scored by this version (flagged counts and capacity unavailable)")))
    # The column keys stay in English in every language: scripts read this table.
    print(f"\n{'picker':16} {'threshold':>9} {'precision':>9} {'recall':>6} {'F1':>6} {'FPR':>6} "
          f"{'flagged%':>8} {'in batch':>9}")
    print(_threshold_row("saved", rep.version.threshold, rep.at(rep.version.threshold)))
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
    print("\n" + _("Calibration: temperature {temperature:.3f} (fitted on {n} cases); ECE {ece_before:.4f} -> "
                   "{ece_after:.4f}, Brier {brier_before:.4f} -> {brier_after:.4f}.").format(
        temperature=cal["temperature"], n=cal["fitted_on"], ece_before=cal["before"]["ece"],
        ece_after=cal["after"]["ece"], brier_before=cal["before"]["brier"], brier_after=cal["after"]["brier"]))
    if args.segment:
        _print_segments(rep, args.segment)
    if chosen not in picked:
        raise RsadError(_("The picker {picker} gave no threshold (see above).").format(picker=chosen.label))
    print("\n" + _("Chosen ({picker}): threshold {threshold:.4f}.").format(picker=chosen.label,
                                                                         threshold=picked[chosen]))
    if args.save:
        out = th.save(store, rep.version.name, picked[chosen], user=user, method=chosen.label,
                      reason=args.reason)
        print(_("Saved: {model} threshold {old:.4f} -> {new:.4f}.").format(**out))


def add_commands(add: Adder) -> None:
    p = add("thresholds", cmd_thresholds)
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--pick", default="max-f1", help="picker to choose with (default %(default)s)")
    p.add_argument("--daily-volume", type=int, help="cases a day, for capacity (default: the latest batch)")
    p.add_argument("--segment", help="also show numbers per value of this metadata column")
    p.add_argument("--save", action="store_true", help="store the chosen threshold on the version")
    p.add_argument("--reason", default="", help="why (kept in the threshold history)")
