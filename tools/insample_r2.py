#!/usr/bin/env python3
"""Print the Fig4 decoding (in-sample and test) of embedding files, one line per file.

Usage::

    python tools/insample_r2.py results/paper_subset/embeddings/piVAE300/*.npz [--mode paper]

Each file is an embedding of the project's contract (``results/embeddings/...``); the
numbers are :func:`ner_repro.analysis.evaluation.explained_variance` (linear decoders fit on the
train split): position and velocity R² and peak direction accuracy in-sample (train) and on
the test split, in the chosen evaluation mode, then the median over the files of each
(method, session).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ner_repro.analysis import evaluation
from ner_repro.core.embedding import EmbeddingRun


def table(paths: list[Path], mode: str) -> pd.DataFrame:
    rows = []
    for path in paths:
        run = EmbeddingRun.load(path)
        ev = evaluation.explained_variance(run, mode)
        rows.append(
            {
                "method": run.method,
                "session": run.session,
                "seed": run.seed,
                "train pos R2": ev.train.pos_r2,
                "train vel R2": ev.train.vel_r2,
                "train peak acc": ev.train.peak_dir_acc,
                "test pos R2": ev.test.pos_r2,
                "test vel R2": ev.test.vel_r2,
            }
        )
    return pd.DataFrame(rows).sort_values(["method", "session", "seed"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("embeddings", nargs="+", type=Path)
    ap.add_argument("--mode", default="paper", choices=list(evaluation.MODES))
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.embeddings if not p.is_file()]
    if missing:
        ap.error(f"no such embedding file: {', '.join(missing)}")
    frame = table(args.embeddings, args.mode)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"evaluation mode: {args.mode}")
        print(frame.round(3).to_string(index=False))
        print("\nmedian over seeds:")
        medians = frame.drop(columns="seed").groupby(["method", "session"]).median()
        print(medians.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
