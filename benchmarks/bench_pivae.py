"""Seconds per pi-VAE training epoch on a real session: the plain code (``fast: false``) against
the fast one (``fast: true``, the default), measured in the same run, and how closely they agree.

Both runs train the same model from the same seed on the session's fitting part (the training
trials less the validation ones, as :func:`ner_repro.methods.pivae.fit_pivae` does), with
the paper's settings (batch 200, lr 2.5e-4) and no early stopping, for ``--epochs`` epochs
each; ``--repeats`` alternates the two (old, new, old, new, ...) so that a machine shared with
other work slows both alike. Printed: the median seconds per epoch of each (the best over the
repeats), their ratio, the projected time of the paper's 300 epochs, the largest relative
difference of the two loss curves (training and validation) and of the train embeddings.

Usage::

    python benchmarks/bench_pivae.py [--session Chewie_20150630] [--area M1] [--epochs 5]
        [--threads 1] [--repeats 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ner_repro.data.ingest import read_session
from ner_repro.methods import pivae

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))
DATA_DIR = SHARED / "data" / "ner-sessions"
PAPER_EPOCHS = 300


def train_once(session, *, fast: bool, epochs: int, seed: int) -> dict:
    """One :func:`~ner_repro.methods.pivae.fit_pivae` run: its history and train embedding."""
    t0 = time.perf_counter()
    run = pivae.fit_pivae(
        session, seed=seed, params={"epochs": epochs, "early_stopping": False, "fast": fast}
    )
    return {
        "loss": np.asarray(run.loss),
        "val_loss": np.asarray(run.extras["val_loss"]),
        "epoch_s": np.asarray(run.extras["epoch_s"]),
        "wall_s": time.perf_counter() - t0,
        "train": run.train,
        "n_fit": int(run.extras["n_fit_bins"]),
    }


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--session", default="Chewie_20150630", help="Monkey_YYYYMMDD")
    ap.add_argument("--area", default="M1")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    monkey = args.session.split("_")[0]
    # Chewie/Mihili files carry no t_dur (40 bins); Han's store theirs.
    t_dur = None if monkey == "Han" else 40
    session = read_session(
        DATA_DIR / f"{args.session}_neural_con_dis_index.mat", args.area, t_dur=t_dur
    )
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(args.repeats):
        for fast in (False, True):
            runs[fast].append(train_once(session, fast=fast, epochs=args.epochs, seed=args.seed))
    old, new = runs[False][0], runs[True][0]
    n_train, n_neurons = session.split("train")[0].shape
    print(
        f"session {args.session} {args.area}: {n_train} train bins ({old['n_fit']} fitted), "
        f"{n_neurons} neurons; {args.epochs} epochs x {args.repeats} repeats, "
        f"{torch.get_num_threads()} thread(s), torch {torch.__version__}"
    )
    s_per_epoch = {
        fast: min(float(np.median(r["epoch_s"])) for r in rs) for fast, rs in runs.items()
    }
    for fast, label in ((False, "old (fast: false)"), (True, "new (fast: true) ")):
        s = s_per_epoch[fast]
        all_s = " ".join(f"{x:.3f}" for r in runs[fast] for x in r["epoch_s"])
        print(
            f"{label}: {s:.3f} s/epoch (median; best of repeats) -> "
            f"{s * PAPER_EPOCHS / 60:.1f} min for {PAPER_EPOCHS} epochs   [epochs: {all_s}]"
        )
    print(f"ratio old/new: {s_per_epoch[False] / s_per_epoch[True]:.2f}x")
    print(
        f"max relative difference new vs old: loss {rel_diff(old['loss'], new['loss']):.2e}, "
        f"val_loss {rel_diff(old['val_loss'], new['val_loss']):.2e}, "
        f"train embedding {np.max(np.abs(old['train'] - new['train'])):.2e} (abs, "
        f"embedding scale {np.max(np.abs(old['train'])):.2f})"
    )
    for fast in (False, True):
        same = all(np.array_equal(r["loss"], runs[fast][0]["loss"]) for r in runs[fast])
        if args.repeats > 1:
            print(f"{'new' if fast else 'old'} repeats bit-identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
