"""UMAP's Fig4 training numbers over many runs: seeded (the workflow) and unseeded (the authors).

Issue 22 item 4: several published UMAP / UMAP-with-label Fig4 *training* numbers (position
and velocity R², peak direction accuracy) lie outside the tolerance of ours. The authors'
runs and the evaluation are ruled in or out as follows:

* the evaluation is the project's own paper-mode Fig4 evaluation
  (:func:`ner_repro.analysis.evaluation.explained_variance_table`), which reproduces the
  authors' Fig4 numbers from their own stored embeddings (``tests/test_evaluation.py``);
* the authors ran ``umap.UMAP(n_neighbors=68, min_dist=0.2475, n_components=2, n_jobs=8,
  random_state=None)`` once per session, *unseeded and multi-threaded*; the workflow runs
  the same settings with ``random_state=seed`` (``deterministic: true``), which makes
  umap-learn single-threaded and takes other code paths (serial NN-descent and a serial
  layout optimisation instead of the parallel, Hogwild-style one).

So this script fits, per session and UMAP method, ``--runs`` seeded runs (the workflow's
``deterministic: true``, seeds 0..n-1) and ``--runs`` unseeded ones (``deterministic:
false``: ``random_state=None`` on all cores, as the authors ran it), decodes every training
embedding with the paper-mode evaluation, and writes per run and per (variant, method,
session, number) the median, mean, SD and range over runs beside the published value, and a
Mann-Whitney test of seeded against unseeded. If the two variants agree and the published
value lies inside their spread, a published UMAP number is one draw of that spread; if the
unseeded runs differ from the seeded ones, the workflow's determinism is the cause.

With ``--authors-dir`` (a checkout of the authors' repository, NeuroscienceAI/NER), their
own stored embedding of each session (``data_NER/<area folder>/<method>_<monkey><year>/NPZ/``)
is decoded the same way, as a third variant ``authors`` (one run), after checking that its
stored training labels are ours bin for bin. Every run, theirs included, also gets
``knn_overlap``: the mean fraction of each training bin's 10 nearest neighbours in *our*
neural input that are among its 10 nearest in the embedding. An embedding fitted on other
input than ours would keep fewer of our neighbourhoods than our own fits do.

Two probes of what else could move a fit, both seeded like ``seeded``:

* ``--umap-python PY``: the variant ``other_umap``, fitted by the umap-learn installed in
  another environment (numpy and umap-learn only; e.g. 0.5.3, of the authors' time: their
  notebooks ran Python 3.8), through this file's ``--worker`` mode; its version is kept in
  each run's metadata;
* ``--variants ... sqrt_input``: the square root of the neural input, a monotone change of
  it: how far the numbers (and ``knn_overlap``) move with the input's representation alone.

Outputs (``--out``, default ``benchmarks/out/umap_spread``): the embeddings under
``<variant>/<method>/<session>_run<k>.npz`` (reused when present, so an interrupted run
resumes), ``summary.csv`` (one row per run and number) and ``summary_stats.csv`` (read by the
reproduction record when copied under ``<results>/benchmarks/umap_spread/``).

Usage (single-threaded for the seeded variant; the unseeded one uses numba's threads)::

    .venv/bin/python benchmarks/umap_spread.py [--sessions Han_20171204_S1 ...] \\
        [--methods UMAP UMAP_label] [--runs 5] [--variants seeded unseeded [sqrt_input]] \\
        [--authors-dir PATH/TO/NER] [--umap-python PATH/TO/venv/bin/python] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pivae_original as po  # session loading, config and published numbers

if TYPE_CHECKING:
    import pandas as pd

    from ner_repro.core.embedding import EmbeddingRun

DEFAULT_OUT = po.REPO_ROOT / "benchmarks" / "out" / "umap_spread"
#: The sessions whose published UMAP training numbers lay furthest from ours (seed 0).
DEFAULT_SESSIONS = ("Han_20171204_S1", "Han_20171201_S1", "Chewie_20160929_PMd")
METHODS = ("UMAP", "UMAP_label")
#: variant -> the ``deterministic`` setting of ``kind: umap``. ``sqrt_input`` (only when
#: asked for) is the seeded fit of the square root of the neural input: a probe of how far a
#: monotone change of the input moves the numbers.
VARIANTS = {"seeded": True, "unseeded": False, "sqrt_input": True}
DEFAULT_VARIANTS = ("seeded", "unseeded")
#: The variant fitted by another umap-learn (``--umap-python``), seeded as ``seeded``.
OTHER = "other_umap"
#: The Fig4 numbers compared (training split, linear decoder).
METRICS = ("pos_R2", "vel_R2", "peak_dir_acc")
#: The variant of the authors' own stored embeddings (``--authors-dir``).
AUTHORS = "authors"
#: Neighbours compared by :func:`knn_overlap`.
KNN = 10


def run_path(out: Path, variant: str, method: str, session: str, k: int) -> Path:
    return out / variant / method / f"{session}_run{k}.npz"


def fit(session: Any, method: str, variant: str, k: int) -> EmbeddingRun:
    """Run ``k`` of ``method`` on ``session``: seed ``k`` (seeded) or ``random_state=None``
    (unseeded; ``k`` then only names the run and seeds UMAP's ``transform``)."""
    import dataclasses

    from ner_repro.methods.umap import fit_umap

    params = {**po.method_params(method), "deterministic": VARIANTS[variant], "paper_test": False}
    if variant == "sqrt_input":
        session = dataclasses.replace(session, neural=np.sqrt(session.neural))
    return fit_umap(session, seed=k, params=params, method=method)


def worker(job_path: Path, result_path: Path) -> None:
    """In the other umap-learn's environment (numpy and umap-learn only): fit the job's
    training bins with the workflow's settings once per seed, embed its test bins. One
    process for all seeds, so numba compiles once."""
    import umap

    job = np.load(job_path)
    settings = json.loads(str(job["settings"]))
    y = job["y_train"] if bool(job["supervised"]) else None
    out: dict[str, np.ndarray] = {}
    for seed in job["seeds"]:
        began = time.perf_counter()
        model = umap.UMAP(random_state=int(seed), n_jobs=1, **settings)
        out[f"train_{seed}"] = np.asarray(model.fit_transform(job["x_train"], y=y), np.float64)
        out[f"test_{seed}"] = np.asarray(model.transform(job["x_test"]), np.float64)
        out[f"seconds_{seed}"] = np.array(time.perf_counter() - began)
        print(f"[worker] seed {seed}: {float(out[f'seconds_{seed}']):.0f} s", flush=True)
    version = getattr(umap, "__version__", "") or _version("umap-learn")
    np.savez(result_path, umap_learn=np.array(version), **out)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def fit_other(
    session: Any, method: str, seeds: Sequence[int], python: Path, work: Path
) -> list[EmbeddingRun]:
    """Runs of ``method`` with ``seeds`` by the umap-learn of ``python`` (:func:`worker`)."""
    from ner_repro.core.embedding import EmbeddingRun
    from ner_repro.methods.kinds import KINDS

    cfg = KINDS["umap"].resolve(po.method_params(method))
    settings = {
        key: cfg[key]
        for key in ("n_neighbors", "min_dist", "n_components", "metric", "target_metric")
    }
    x_train, y_train = session.split("train")
    x_test, y_test = session.split("test")
    job, result = work / f"{method}_{session.name}.job.npz", work / f"{method}.out.npz"
    np.savez(
        job,
        x_train=x_train,
        y_train=y_train[:, 2],
        x_test=x_test,
        seeds=np.asarray(seeds, dtype=np.int64),
        supervised=bool(cfg["supervised"]),
        settings=json.dumps(settings),
    )
    subprocess.run(
        [str(python), __file__, "--worker", "--job", str(job), "--result", str(result)], check=True
    )
    with np.load(result) as out:
        arrays = {k: out[k] for k in out.files}
    return [
        EmbeddingRun(
            method=method,
            session=session.name,
            seed=int(k),
            train=arrays[f"train_{k}"],
            test=arrays[f"test_{k}"],
            labels_train=y_train,
            labels_test=y_test,
            t_dur=session.t_dur,
            meta={
                "umap_learn": str(arrays["umap_learn"]),
                "python": str(python),
                "wall_time_s": float(arrays[f"seconds_{k}"]),
            },
        )
        for k in seeds
    ]


def authors_embedding(authors_dir: Path, method: str, session: str) -> Path | None:
    """The authors' stored embedding of ``session`` by ``method`` (their folder prefix: NER,
    Cebra, piVAE, UMAP, UMAP_label) in a checkout of their repository:
    ``data_NER/*/<method>_<monkey><year>/NPZ/*<yymmdd>_embed_*<area>.npz`` (UMAP's files are
    ``..._embed_<area>.npz``, the trained models' ``..._embed_20000itr_<area>.npz``)."""
    monkey, date, area = po.parse_session(session)
    hits = sorted(
        (Path(authors_dir) / "data_NER").glob(
            f"*/{method}_{monkey}{date[:4]}/NPZ/*{date[2:]}_embed_*{area}.npz"
        )
    )
    return hits[0] if hits else None


def authors_run(path: Path, session: Any, method: str) -> EmbeddingRun:
    """The authors' embedding as a run, after checking its labels are ours."""
    from ner_repro.core.embedding import EmbeddingRun

    with np.load(path) as npz:
        arrays = {k: np.asarray(npz[k]) for k in npz.files}
    _, y_train = session.split("train")
    _, y_test = session.split("test")
    for key, ours in (("continuous_index_train", y_train), ("continuous_index_test", y_test)):
        theirs = arrays[key]
        if theirs.shape != ours.shape or not np.allclose(theirs, ours):
            raise ValueError(f"{path}: {key} differs from our labels of {session.name}")
    return EmbeddingRun(
        method=method,
        session=session.name,
        seed=0,
        train=arrays["cebra_veldir_train"].astype(np.float64),
        test=arrays["cebra_veldir_test"].astype(np.float64),
        labels_train=y_train,
        labels_test=y_test,
        t_dur=session.t_dur,
        meta={"source": str(path)},
    )


def neighbours(x: np.ndarray, k: int = KNN) -> np.ndarray:
    """Each row's ``k`` nearest other rows (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]


def knn_overlap(reference: np.ndarray, embedding: np.ndarray) -> float:
    """Mean fraction of each row's neighbours in ``reference`` (:func:`neighbours` of the
    input) that are also its neighbours in ``embedding``."""
    found = neighbours(embedding, reference.shape[1])
    hits = [
        np.intersect1d(a, b, assume_unique=True).size for a, b in zip(reference, found, strict=True)
    ]
    return float(np.mean(hits)) / reference.shape[1]


def label(variant: str, run: EmbeddingRun) -> str:
    """The variant as reported: ``other_umap`` is named by its umap-learn version."""
    if variant == OTHER:
        return f"umap-learn {run.meta.get('umap_learn') or '(version not recorded)'}"
    return variant


def collect_runs(
    args: argparse.Namespace,
) -> tuple[list[tuple[str, EmbeddingRun]], dict[str, np.ndarray]]:
    """Fit (or reuse) every run; returns (variant, run) pairs, and per session the
    :func:`neighbours` of its neural training input (for ``knn_overlap``)."""
    from ner_repro.core.embedding import EmbeddingRun

    out = Path(args.out)
    runs: list[tuple[str, EmbeddingRun]] = []
    references: dict[str, np.ndarray] = {}
    variants = [*args.variants, *([OTHER] if args.umap_python else [])]
    total = len(args.sessions) * len(args.methods) * len(variants) * args.runs
    done = 0
    with tempfile.TemporaryDirectory(prefix="umap_spread_") as work:
        for name in args.sessions:
            session = po.load_session(name, Path(args.data_dir))
            references[session.name] = neighbours(session.split("train")[0])
            for method in args.methods:
                if args.authors_dir:
                    path = authors_embedding(Path(args.authors_dir), method, session.name)
                    if path is None:
                        print(f"[authors] {method} {session.name}: no stored embedding", flush=True)
                    else:
                        runs.append((AUTHORS, authors_run(path, session, method)))
                for variant in variants:
                    # The other umap-learn fits every missing seed in one worker process.
                    fitted: dict[int, EmbeddingRun] = {}
                    if variant == OTHER:
                        missing = [
                            k
                            for k in range(args.runs)
                            if not run_path(out, variant, method, session.name, k).is_file()
                        ]
                        if missing:
                            print(f"[{OTHER}] {method} {session.name} seeds {missing}", flush=True)
                            python = Path(args.umap_python)
                            for run in fit_other(session, method, missing, python, Path(work)):
                                fitted[run.seed] = run
                    for k in range(args.runs):
                        done += 1
                        path = run_path(out, variant, method, session.name, k)
                        if path.is_file():
                            run = EmbeddingRun.load(path)
                            runs.append((label(variant, run), run))
                            continue
                        began = time.perf_counter()
                        run = fitted[k] if k in fitted else fit(session, method, variant, k)
                        run.save(path)
                        runs.append((label(variant, run), run))
                        print(
                            f"[{done}/{total}] {variant} {method} {session.name} run {k}: "
                            f"{time.perf_counter() - began:.0f} s -> {path}",
                            flush=True,
                        )
    return runs, references


def per_run_table(
    runs: Sequence[tuple[str, EmbeddingRun]],
    references: Mapping[str, np.ndarray] | None = None,
    *,
    splits: Sequence[str] = ("train",),
    dataset: str = "umap_spread",
) -> pd.DataFrame:
    """One row per (variant, method, session, run, split, number): the paper-mode Fig4
    numbers of ``splits``, with the published value. ``implementation`` = ``<method>
    <variant>``. With ``references`` (session -> :func:`neighbours` of its neural training
    input), also ``knn_overlap`` of every run."""
    import dataclasses

    import pandas as pd

    from ner_repro.analysis.evaluation import explained_variance_table

    # Decode each variant's runs under a method name of its own, so runs never mix.
    tagged = [dataclasses.replace(run, method=f"{run.method} {variant}") for variant, run in runs]
    frame = explained_variance_table(tagged, "paper", dataset=dataset).frame
    frame = frame[frame["split"].isin(splits) & frame["metric"].isin(METRICS)]
    published = {m: po.published_values(method=m) for m in {r.method for _, r in runs}}
    rows = []
    for r in frame.itertuples():
        method, variant = str(r.method).split(" ", 1)
        rows.append(
            {
                "implementation": f"{method} {variant}",
                "method": method,
                "variant": variant,
                "session": r.train_session,
                "seed": int(r.seed),
                "split": r.split,
                "metric": r.metric,
                "value": float(r.value),
                "published": published[method].get((r.train_session, r.split, r.metric), np.nan),
            }
        )
    for variant, run in runs:
        if references is None or run.session not in references:
            continue
        rows.append(
            {
                "implementation": f"{run.method} {variant}",
                "method": run.method,
                "variant": variant,
                "session": run.session,
                "seed": int(run.seed),
                "split": "train",
                "metric": "knn_overlap",
                "value": knn_overlap(references[run.session], run.train),
                "published": np.nan,
            }
        )
    out = pd.DataFrame(rows)
    order = ["method", "session", "split", "metric", "variant", "seed"]
    return out.sort_values(order).reset_index(drop=True)


def summary_table(per_run: pd.DataFrame) -> pd.DataFrame:
    """:func:`pivae_original.summary_table` per implementation, plus, on the unseeded rows,
    the two-sided Mann-Whitney p of unseeded against seeded for the same number."""
    from scipy.stats import mannwhitneyu

    stats = po.summary_table(per_run)
    parts = stats["implementation"].str.split(" ", n=1, expand=True)
    stats.insert(1, "method", parts[0])
    stats.insert(2, "variant", parts[1])
    p_values = []
    for row in stats.itertuples():
        method, variant = row.method, row.variant
        if variant in ("seeded", AUTHORS):
            p_values.append(np.nan)
            continue
        same = (
            (per_run["method"] == method)
            & (per_run["session"] == row.session)
            & (per_run["metric"] == row.metric)
        )
        a = per_run.loc[same & (per_run["variant"] == variant), "value"]
        b = per_run.loc[same & (per_run["variant"] == "seeded"), "value"]
        p_values.append(
            float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
            if len(a) and len(b)
            else np.nan
        )
    stats["p_vs_seeded"] = p_values
    return stats


def published_share(per_run: pd.DataFrame) -> Mapping[str, Any]:
    """How many of the published numbers lie inside the range of each variant's runs."""
    out: dict[str, Any] = {}
    ours = per_run[(per_run["variant"] != AUTHORS) & per_run["metric"].isin(METRICS)]
    for variant, part in ours.groupby("variant"):
        keys = part.groupby(["method", "session", "metric"])
        inside = sum(
            bool(g["value"].min() <= g["published"].iloc[0] <= g["value"].max())
            for _, g in keys
            if np.isfinite(g["published"].iloc[0])
        )
        out[str(variant)] = (inside, keys.ngroups)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--sessions", nargs="+", default=list(DEFAULT_SESSIONS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument(
        "--variants",
        nargs="*",
        default=list(DEFAULT_VARIANTS),
        choices=list(VARIANTS),
        help="none: only the authors' embeddings (--authors-dir) and the other umap-learn",
    )
    ap.add_argument(
        "--umap-python",
        help="python of an environment with another umap-learn: adds the variant other_umap",
    )
    ap.add_argument("--runs", type=int, default=5, help="runs per variant, method and session")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--data-dir", default=str(po.DATA_DIR))
    ap.add_argument(
        "--authors-dir", help="a checkout of the authors' repository (NeuroscienceAI/NER)"
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(Path(args.job), Path(args.result))
        return 0
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not (args.variants or args.authors_dir or args.umap_python):
        ap.error("nothing to compare: give --variants, --authors-dir or --umap-python")

    import pandas as pd

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs, references = collect_runs(args)
    per_run = per_run_table(runs, references)
    stats = summary_table(per_run)
    per_run.to_csv(out / "summary.csv", index=False)
    stats.to_csv(out / "summary_stats.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 1000):
        print(stats.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for variant, (inside, n) in published_share(per_run).items():
        print(f"{variant}: the published value lies inside the range of the runs for {inside}/{n}")
    print(f"\nwrote {out / 'summary.csv'} and {out / 'summary_stats.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
