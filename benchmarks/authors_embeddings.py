"""The authors' own stored embeddings, decoded by our evaluation, beside ours over seeds.

Issue 22 item 4: a published Fig4 number that our seeds miss is either the evaluation (ours
computing something other than theirs) or the embedding (their one unseeded training run
against our retrained ones). The authors' repository (NeuroscienceAI/NER) stores the
embedding behind each published Fig4 number, per method and session, under
``data_NER/<area folder>/<method>_<monkey><year>/NPZ/*<yymmdd>_embed_*<area>.npz``.

This script decodes every one of those stored embeddings that a checkout holds (``--authors-dir``)
for the sessions here, after checking that its stored labels are ours bin for bin, with the
project's paper-mode Fig4 evaluation (:func:`ner_repro.analysis.evaluation.explained_variance_table`),
and the same numbers of our runs of the same method and session over seeds (the embeddings of a
results folder, ``--results``). Variant ``authors`` is their embedding (one run), ``ours`` our
seeds. Where the ``authors`` value equals the published one, the evaluation is ruled out for that
number and what is left is the embedding; where the published value also lies outside our seeds'
range, their single training run landed outside the spread of ours.

Outputs (``--out``, default ``benchmarks/out/authors_embeddings``): ``summary.csv`` (one row per
run and number) and ``summary_stats.csv`` (median and range per variant beside the published
value, and for ``authors`` the difference from it; read by the reproduction record when copied
under ``<results>/benchmarks/authors_embeddings/``).

Usage::

    .venv/bin/python benchmarks/authors_embeddings.py --authors-dir PATH/TO/NER \\
        [--results results/paper] [--methods NER CEBRA ...] [--sessions ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pivae_original as po  # session loading and published numbers
import umap_spread as us  # the authors' stored embeddings, labels checked

if TYPE_CHECKING:
    import pandas as pd

    from ner_repro.core.embedding import EmbeddingRun

DEFAULT_OUT = po.REPO_ROOT / "benchmarks" / "out" / "authors_embeddings"
#: Our method name -> the prefix of the authors' folders (``<prefix>_<monkey><year>``).
AUTHORS_PREFIX = {
    "NER": "NER",
    "CEBRA": "Cebra",
    "piVAE": "piVAE",
    "UMAP": "UMAP",
    "UMAP_label": "UMAP_label",
}
#: The sessions of the paper's Fig4 panels whose recordings are public.
DEFAULT_SESSIONS = (
    "Chewie_20150629_M1",
    "Chewie_20150630_M1",
    "Chewie_20160929_M1",
    "Chewie_20161007_M1",
    "Chewie_20160929_PMd",
    "Chewie_20161007_PMd",
    "Han_20171201_S1",
    "Han_20171204_S1",
    "Han_20171207_S1",
)
OURS = "ours"
#: Within this (relative, and absolute near 0), the authors' embedding decoded by us gives
#: the published number (the published table keeps about seven significant digits).
RTOL, ATOL = 1e-5, 1e-6


def our_runs(results: Path, method: str, session: str) -> list[EmbeddingRun]:
    """Our embeddings of ``method`` on ``session`` in a results folder, every seed."""
    from ner_repro.core.embedding import EmbeddingRun

    folder = results / "embeddings" / method
    return [EmbeddingRun.load(p) for p in sorted(folder.glob(f"{session}_seed*.npz"))]


def collect_runs(args: argparse.Namespace) -> list[tuple[str, EmbeddingRun]]:
    """(variant, run) pairs: the authors' stored embedding and our seeds, per method and
    session; a session or method without the authors' embedding, or whose stored labels are
    not ours bin for bin, is left out, and said so."""
    runs: list[tuple[str, EmbeddingRun]] = []
    for name in args.sessions:
        session = po.load_session(name, Path(args.data_dir))
        for method in args.methods:
            path = us.authors_embedding(Path(args.authors_dir), AUTHORS_PREFIX[method], name)
            if path is None:
                print(f"{method} {name}: no stored embedding in the checkout", flush=True)
                continue
            try:
                theirs = us.authors_run(path, session, method)
            except ValueError as exc:  # e.g. pi-VAE: their files hold a subset of the bins
                print(f"{method} {name}: left out: {exc}", flush=True)
                continue
            ours = our_runs(Path(args.results), method, name)
            print(f"{method} {name}: {path.name} and {len(ours)} of ours", flush=True)
            runs.append((us.AUTHORS, theirs))
            runs += [(OURS, run) for run in ours]
    return runs


def per_run_table(runs: Sequence[tuple[str, EmbeddingRun]]) -> pd.DataFrame:
    """One row per (variant, method, session, run, split, number) of the paper-mode Fig4
    evaluation, both splits, with the published value (:func:`umap_spread.per_run_table`)."""
    return us.per_run_table(runs, splits=("train", "test"), dataset="authors_embeddings")


def summary_table(per_run: pd.DataFrame) -> pd.DataFrame:
    """:func:`pivae_original.summary_table` per variant, and for the authors' rows their
    difference from the published value (``authors_minus_published``) and whether it is
    equal to it to :data:`RTOL` (``authors_equal_published``)."""
    stats = po.summary_table(per_run)
    parts = stats["implementation"].str.split(" ", n=1, expand=True)
    stats.insert(1, "method", parts[0])
    stats.insert(2, "variant", parts[1])
    authors = (stats["variant"] == us.AUTHORS) & stats["published"].notna()
    stats["authors_minus_published"] = np.where(
        authors, stats["median"] - stats["published"], np.nan
    )
    equal = np.isclose(stats["median"], stats["published"], rtol=RTOL, atol=ATOL)
    stats["authors_equal_published"] = np.where(authors, equal.astype(str), "")
    return stats


def verdicts(stats: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Counts over the numbers with a published value: the authors' embedding decoded by us
    gives it (``exact``); the published value lies inside our seeds' range (``inside``); and
    the authors' value lies inside it (``authors_inside``, the same as ``inside`` where exact)."""
    authors = stats[(stats["variant"] == us.AUTHORS) & stats["published"].notna()]
    ours = stats[stats["variant"] == OURS].set_index(["method", "session", "split", "metric"])
    exact = int((authors["authors_equal_published"] == "True").sum())
    inside = authors_inside = with_ours = 0
    for row in authors.itertuples():
        key = (row.method, row.session, row.split, row.metric)
        if key not in ours.index:
            continue
        lo, hi = float(ours.loc[key, "min"]), float(ours.loc[key, "max"])
        with_ours += 1
        inside += lo - 1e-9 <= row.published <= hi + 1e-9
        authors_inside += lo - 1e-9 <= row.median <= hi + 1e-9
    return {
        "exact": (exact, len(authors)),
        "inside": (inside, with_ours),
        "authors_inside": (authors_inside, with_ours),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--authors-dir", required=True, help="a checkout of the authors' repository (NER)"
    )
    ap.add_argument(
        "--results",
        default=str(po.REPO_ROOT / "results" / "paper"),
        help="the results folder with our embeddings (embeddings/<method>/<session>_seed<k>.npz)",
    )
    ap.add_argument("--data-dir", default=str(po.DATA_DIR))
    ap.add_argument("--methods", nargs="+", default=list(AUTHORS_PREFIX), choices=AUTHORS_PREFIX)
    ap.add_argument("--sessions", nargs="+", default=list(DEFAULT_SESSIONS))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    if not (Path(args.authors_dir) / "data_NER").is_dir():
        ap.error(f"--authors-dir {args.authors_dir}: no data_NER folder (not a checkout of NER)")

    runs = collect_runs(args)
    if not runs:
        print("no stored embedding of the authors found for these sessions", file=sys.stderr)
        return 1
    per_run = per_run_table(runs)
    stats = summary_table(per_run)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per_run.to_csv(out / "summary.csv", index=False)
    stats.to_csv(out / "summary_stats.csv", index=False)

    counts = verdicts(stats)
    print(f"\nwrote {out}/summary.csv and summary_stats.csv")
    print(
        "the authors' embeddings decoded by our paper-mode evaluation give the published "
        f"number in {counts['exact'][0]} of {counts['exact'][1]}"
    )
    other = stats[stats["authors_equal_published"] == "False"]
    for row in other.itertuples():
        print(
            f"  differs: {row.method} {row.session} {row.split} {row.metric}: "
            f"{row.median:.4g} against {row.published:.4g}"
        )
    print(
        "the published number lies inside our seeds' range in "
        f"{counts['inside'][0]} of {counts['inside'][1]}"
    )
    for (method, split), part in stats[stats["variant"] == us.AUTHORS].groupby(["method", "split"]):
        equal = int((part["authors_equal_published"] == "True").sum())
        print(f"  {method} {split}: equal in {equal} of {len(part)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
