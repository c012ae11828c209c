"""Wall time and in-sample decoding of the baselines on real sessions, next to the authors' numbers.

For each session and method (PCA, dPCA, UMAP, UMAP_label, piVAE; the paper's settings unless
overridden) this runs the registered method on the session's 80/20 trial split, times it, and
decodes the *training* embedding in-sample (:func:`ner_repro.analysis.decoding.in_sample_analysis`:
``LinearRegression`` velocity R², position R² from per-trial cumulative sums, uniform average;
logistic-regression direction accuracy over all bins and its peak over time bins). The authors' values are the train rows of
``reference/fig4-7-fig4-per-session.csv`` (UMAP, UMAP_label, piVAE; they saved no single-bin
PCA/dPCA embeddings); that table is described in ``docs/sources.md``.

Usage::

    python benchmarks/bench_baselines.py [--sessions Chewie_20150630_M1 Han_20171201_S1]
        [--methods PCA dPCA UMAP UMAP_label piVAE] [--seed 0 1] [--pivae-epochs 300]
        [--pivae-threads 1] [--out bench.tsv] [--save-dir runs/]

One row per (session, method) is printed (and appended to ``--out`` as TSV) as soon as it is
done, so a long run can be watched and interrupted. ``--pivae-epochs 3`` times a few epochs
only (then the R² is that of an untrained model: read the timing, not the R²).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro import methods
from ner_repro.analysis.decoding import (
    accuracy_per_bin,
    direction_class,
    in_sample_analysis,
    peak_accuracy,
)
from ner_repro.data.ingest import read_session

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))
DATA_DIR = SHARED / "data" / "ner-sessions"
REFERENCE = SHARED / "spec" / "reference" / "fig4-7-fig4-per-session.csv"

#: The sessions whose recordings are present and for which the authors report baselines.
SESSIONS = (
    "Chewie_20150629_M1",
    "Chewie_20150630_M1",
    "Chewie_20160929_M1",
    "Chewie_20161007_M1",
    "Chewie_20160929_PMd",
    "Chewie_20161007_PMd",
    "Han_20171201_S1",
)

#: The paper's settings (config/config.yaml).
SPECS: dict[str, dict[str, Any]] = {
    "PCA": {"kind": "pca"},
    "dPCA": {"kind": "dpca"},
    "UMAP": {"kind": "umap", "supervised": False},
    "UMAP_label": {"kind": "umap", "supervised": True},
    "piVAE": {"kind": "pivae", "epochs": 300, "patience": 30},
}

COLUMNS = (
    "session",
    "method",
    "seed",
    "n_train_bins",
    "n_neurons",
    "wall_s",
    "epochs_run",
    "s_per_epoch",
    "vel_r2",
    "pos_r2",
    "dir_acc",
    "dir_peak_acc",
    "paper_vel_r2",
    "paper_pos_r2",
    "paper_dir_peak_acc",
)


def published(session: str, method: str) -> dict[str, float]:
    """The authors' train-split numbers for ``session`` (``Monkey_YYYYMMDD_AREA``), if any."""
    if not REFERENCE.is_file():
        return {}
    monkey, date, area = session.split("_")
    with REFERENCE.open() as fh:
        for row in csv.DictReader(fh):
            if (
                row["method"] == method
                and row["monkey"] == monkey
                and row["area"] == area
                and row["session"] == date[2:]
                and row["split"] == "train"
            ):
                return {
                    "paper_vel_r2": float(row["vel_R2"]),
                    "paper_pos_r2": float(row["pos_R2"]),
                    "paper_dir_peak_acc": float(row["peak_dir_acc"]),
                }
    return {}


def bench_one(
    session_name: str,
    method: str,
    spec: dict[str, Any],
    seed: int,
    save_dir: Path | None = None,
) -> dict[str, Any]:
    monkey, date, area = session_name.split("_")
    # Chewie/Mihili files carry no t_dur (40 bins); Han's store theirs (35).
    t_dur = None if monkey == "Han" else 40
    session = read_session(
        DATA_DIR / f"{monkey}_{date}_neural_con_dis_index.mat", area, t_dur=t_dur
    )
    t0 = time.perf_counter()
    run = methods.run_method(session, method=method, spec=spec, seed=seed, progress=False)
    wall = time.perf_counter() - t0
    if save_dir is not None:
        run.save(save_dir / method / f"{session_name}_seed{seed}.npz")
    dec = in_sample_analysis(run.train, run.labels_train, run.t_dur, pvalues=False)
    # Peak over time bins of the per-bin accuracy (Fig4's "peak accuracy"), same decoder.
    true_cls = direction_class(run.labels_train[:, 2])
    pred_cls = direction_class(np.asarray(dec.pred_dir_deg))
    peak = peak_accuracy(accuracy_per_bin(pred_cls, true_cls, run.t_dur))
    row: dict[str, Any] = {
        "session": session_name,
        "method": method,
        "seed": seed,
        "n_train_bins": run.train.shape[0],
        "n_neurons": session.neural.shape[1],
        "wall_s": round(wall, 1),
        "epochs_run": run.meta.get("epochs_run", ""),
        "s_per_epoch": round(run.meta["seconds_per_epoch"], 2)
        if "seconds_per_epoch" in run.meta
        else "",
        "vel_r2": round(dec.vel_r2, 3),
        "pos_r2": round(dec.pos_r2, 3),
        "dir_acc": round(dec.dir_acc or float("nan"), 1),
        "dir_peak_acc": round(peak, 1),
    }
    row.update({k: round(v, 3) for k, v in published(session_name, method).items()})
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", nargs="+", default=list(SESSIONS))
    ap.add_argument("--methods", nargs="+", default=list(SPECS), choices=list(SPECS))
    ap.add_argument("--seed", type=int, nargs="+", default=[0])
    ap.add_argument("--pivae-epochs", type=int, default=None)
    ap.add_argument("--pivae-threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="append rows to this TSV")
    ap.add_argument("--save-dir", type=Path, default=None, help="save each run's embedding here")
    args = ap.parse_args(argv)
    specs = {m: dict(SPECS[m]) for m in args.methods}
    if "piVAE" in specs:
        if args.pivae_epochs is not None:
            specs["piVAE"]["epochs"] = args.pivae_epochs
        if args.pivae_threads is not None:
            specs["piVAE"]["num_threads"] = args.pivae_threads
    writer = None
    if args.out is not None:
        new = not args.out.exists()
        fh = args.out.open("a", newline="")
        writer = csv.DictWriter(fh, COLUMNS, delimiter="\t", extrasaction="ignore")
        if new:
            writer.writeheader()
    print("\t".join(COLUMNS), flush=True)
    for name in args.sessions:
        for method, spec in specs.items():
            for seed in args.seed:
                row = bench_one(name, method, spec, seed, args.save_dir)
                print("\t".join(str(row.get(c, "")) for c in COLUMNS), flush=True)
                if writer is not None:
                    writer.writerow(row)
                    fh.flush()
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
