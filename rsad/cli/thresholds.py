"""`rsad thresholds`: a version's evaluation, the threshold pickers side by side, and saving one."""

from __future__ import annotations

import argparse

from rsad.cli.common import Adder, Bar, authorized, open_store
from rsad.errors import RsadError


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
    from rsad.service import thresholds as th

    chosen = th.parse_pick(args.pick)
    # Refused before the evaluation, not after it; th.save checks again.
    user = authorized(args, "SAVE_THRESHOLD") if args.save else None
    store = open_store()
    rep = th.report(store, args.model, progress=Bar("cases"))
    ev = rep.eval
    print(f"Model {rep.version.name} ({rep.version.status}), saved threshold "
          f"{rep.version.threshold:.4f}. Evaluation set: {ev.describe()}.")
    a = rep.aucs
    print(f"ROC-AUC {a['roc_auc']:.4f}  PR-AUC {a['pr_auc']:.4f}.  Latest batch: "
          + (f"{rep.batch!r}, {rep.batch_rows:,} cases" if rep.batch_scores is not None
             else "none scored by this version (flagged counts and capacity unavailable)"))
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
    print(f"\nCalibration: temperature {cal['temperature']:.3f} (fitted on {cal['fitted_on']} cases); "
          f"ECE {cal['before']['ece']:.4f} -> {cal['after']['ece']:.4f}, "
          f"Brier {cal['before']['brier']:.4f} -> {cal['after']['brier']:.4f}.")
    if args.segment:
        print(f"\nBy {args.segment} at the saved threshold:")
        for r in th.segment_table(rep.labels, rep.scores, ev.meta, args.segment, rep.version.threshold,
                                  own_thresholds=True):
            print(f"  {r['segment'][:24]:24} {r['cases']:6,} cases {r['anomalies']:5,} anomalies  "
                  f"precision {th.shown(r['precision'], '.3f')} recall {th.shown(r['recall'], '.3f')} "
                  f"FPR {th.shown(r['fpr'], '.3f')} flagged {r['flagged_rate']:.3f}  "
                  f"own threshold {th.shown(r['own_threshold'], '.4f')}")
    if chosen not in picked:
        raise RsadError(f"The picker {chosen.label} gave no threshold (see above).")
    print(f"\nChosen ({chosen.label}): threshold {picked[chosen]:.4f}.")
    if args.save:
        out = th.save(store, rep.version.name, picked[chosen], user=user, method=chosen.label,
                      reason=args.reason)
        print(f"Saved: {out['model']} threshold {out['old']:.4f} -> {out['new']:.4f}.")


def add_commands(add: Adder) -> None:
    p = add("thresholds", cmd_thresholds)
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--pick", default="max-f1", help="picker to choose with (default %(default)s)")
    p.add_argument("--daily-volume", type=int, help="cases a day, for capacity (default: the latest batch)")
    p.add_argument("--segment", help="also show numbers per value of this metadata column")
    p.add_argument("--save", action="store_true", help="store the chosen threshold on the version")
    p.add_argument("--reason", default="", help="why (kept in the threshold history)")
