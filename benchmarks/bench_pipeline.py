"""Projected wall time of ``all_figures`` at the paper's settings, from short measured runs.

Measured in one run on one real session (``--session``/``--area``), one thread each:

* NER, CEBRA and CEBRA-16D training steps (paper settings, batch 512), CEBRA with its own
  brute-force positive search (``search="brute"``, the code before this change) and with
  the exact fast search (:class:`ner_patch.ExactIndex`, the default now), NER also with
  the authors' InfoNCE logging (``log_infonce=True``, what every step did before);
* pi-VAE seconds per epoch, the plain path (``fast: false``, before) and the default;
* PCA and dPCA fits (complete);
* per-job fixed cost: a fresh interpreter importing a training job's modules;
* with ``--side-by-side N``: the NER and CEBRA steps again in fresh processes, first one
  alone and then N at once (the workflow runs one job per core, so N jobs share the
  machine's caches and memory bandwidth); the ratio N-at-once / alone of each is the
  side-by-side factor, and the projection's NER/CEBRA job costs are multiplied by it
  (pi-VAE, UMAP and the rest are not: not measured side by side).

Then every training job of ``all_figures`` (read from a Snakemake dry run over the
available sessions) gets a cost: fixed cost + iterations x step (NER/CEBRA), epochs x
seconds per epoch scaled by the session's training bins (pi-VAE), and for UMAP the
per-fit seconds given by ``--umap-s`` (measured separately by ``benchmarks/bench_umap.py``,
whose fits take minutes; scaled by bins: "before" a fit in its own process, "now" a fit
inside a ``train_umap`` job, which fits every UMAP method and seed of a session). pi-VAE
now follows ``config/config.yaml``: the authors' protocol (fit on 60 % of the bins),
epochs by area, 5 seeds where the others have 3; before, 300 epochs on 7/8 of the
training trials and the seeds of the others. The jobs are scheduled longest first on N
cores (one job per core, as the workflow runs them) for 1 and 3 seeds. Every number that
is extrapolated is labelled so.

Usage::

    python benchmarks/bench_pipeline.py [--cores 2 16] [--umap-s UMAP=..,UMAP_label=..]
        [--side-by-side 2] [--out results/paper/benchmarks/bench_pipeline.json]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NER_SHARED_DIR", REPO.parent / "shared")) / "data"

import bench_ner  # noqa: E402

import ner_patch  # noqa: E402
from ner_repro.data.ingest import read_session  # noqa: E402
from ner_repro.methods.pivae import epochs_for, paper_split  # noqa: E402
from ner_repro.report.record import UMAP_STAGE, training_stage  # noqa: E402

SETTINGS = {k: v for k, v in bench_ner.SETTINGS.items()}


def bench_session(name: str, area: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """The timed session (``t_dur`` 40) and its training split (neural, labels) as float32."""
    session = read_session(
        SHARED / "ner-sessions" / f"{name}_neural_con_dis_index.mat", area, t_dur=40
    )
    neural, labels = (a.astype(np.float32) for a in session.split("train"))
    return session, neural, labels


def step_seconds(
    neural: np.ndarray,
    labels: np.ndarray,
    steps: int,
    block: int,
    only: Sequence[str] = (),
) -> dict:
    """Mean seconds per training step of each variant (those named in ``only``, if given),
    timed in alternating blocks after 10 untimed steps."""
    torch.manual_seed(0)
    variants = {
        "NER": ner_patch.NER(**SETTINGS),
        "CEBRA (brute search, before)": ner_patch.SeededCEBRA(**SETTINGS, search="brute"),
        "CEBRA": ner_patch.SeededCEBRA(**SETTINGS),
        "CEBRA16": ner_patch.SeededCEBRA(**{**SETTINGS, "output_dimension": 16}),
        "NER (brute search)": ner_patch.NER(**SETTINGS, search="brute"),
        "NER (log_infonce, before)": ner_patch.NER(**SETTINGS, log_infonce=True),
    }
    if only:
        variants = {k: variants[k] for k in only}
    timers = {k: bench_ner.StepTimer(v, neural, labels, steps + 10) for k, v in variants.items()}
    for t in timers.values():
        t.run(10, record=False)
    done = 0
    while done < steps:
        size = min(block, steps - done)
        for t in timers.values():
            t.run(size)
        done += size
    return {k: t.summary() for k, t in timers.items()}


def worker_steps(session_name: str, area: str, steps: int) -> dict[str, float]:
    """Mean seconds per NER and CEBRA step on the session, timed in this process (one thread):
    what one side-by-side worker measures."""
    torch.set_num_threads(1)
    _, neural, labels = bench_session(session_name, area)
    timed = step_seconds(neural, labels, steps, 10, only=("NER", "CEBRA"))
    return {k: r["step_mean_s"] for k, r in timed.items()}


def run_workers(copies: int, session_name: str, area: str, steps: int) -> list[dict[str, float]]:
    """``copies`` fresh processes timing :func:`worker_steps` at the same time."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--session",
        session_name,
        "--area",
        area,
        "--steps",
        str(steps),
    ]
    procs = [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(copies)
    ]
    out = []
    for proc in procs:
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"side-by-side worker failed (exit {proc.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def side_by_side(copies: int, session_name: str, area: str, steps: int) -> dict[str, Any]:
    """Step seconds alone and with ``copies`` processes at once, and their ratio per variant."""
    alone = run_workers(1, session_name, area, steps)[0]
    together = run_workers(copies, session_name, area, steps)
    factor = {k: float(np.mean([w[k] for w in together])) / alone[k] for k in alone}
    return {
        "copies": copies,
        "steps": steps,
        "alone_s": alone,
        "together_s": together,
        "factor": factor,
    }


def pivae_epoch_seconds(session: Any, epochs: int) -> dict[str, float]:
    from ner_repro.methods.pivae import fit_pivae

    out = {}
    for label, fast in (("before (fast: false)", False), ("now", True)):
        run = fit_pivae(
            session, seed=0, params={"epochs": epochs, "fast": fast, "early_stopping": False}
        )
        out[label] = float(np.median(run.extras["epoch_s"]))
    return out


def pivae_fit_bins(session: Any) -> int:
    """Bins pi-VAE fits on in the corrected protocol (its defaults): the training trials
    less the validation part."""
    from ner_repro.methods.kinds import KINDS
    from ner_repro.methods.pivae import _split_validation

    n_trials = session.n_train_trials
    return _split_validation(n_trials, KINDS["pivae"].defaults["valid_fraction"]) * session.t_dur


def quick_fit_seconds(session: Any, kind: str) -> float:
    from ner_repro.methods import get

    start = time.perf_counter()
    get(kind)(session, seed=0, params={}, method=kind, device="cpu", progress=False)
    return time.perf_counter() - start


def fixed_seconds() -> dict[str, float]:
    """A fresh interpreter importing what a training job imports, per kind."""
    modules = {
        "ner/cebra": "import torch, ner_patch, ner_repro.methods.contrastive, ner_repro.core.jobs",
        "pivae": "import torch, ner_repro.methods.pivae, ner_repro.core.jobs",
        "pca/dpca": "import ner_repro.methods.pca, ner_repro.methods.dpca, ner_repro.core.jobs",
        "umap": "import umap, ner_repro.methods.umap, ner_repro.core.jobs",
    }
    out = {}
    for kind, code in modules.items():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        out[kind] = time.perf_counter() - start
    return out


def planned_jobs(data_dir: Path, published: Path) -> list[tuple[str, str]]:
    """(method, session) of every training job of all_figures for seed 0 (Snakemake dry run)."""
    cmd = [
        str(Path(sys.executable).with_name("snakemake")),
        "-n",
        "all_figures",
        "--forceall",
        "--config",
        f"data_dir={data_dir}",
        f"published_dir={published}",
        "missing=skip",
        "seeds=[0]",
        "results_dir=results/bench-plan",
    ]
    text = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    pairs = re.findall(r"embeddings/([^/\s]+)/(\S+?)_seed0\.npz", text)
    return sorted(set(pairs))


#: The fixed-cost measurement (:func:`fixed_seconds`) of each method kind.
FIXED_KEY = {
    "ner": "ner/cebra",
    "cebra": "ner/cebra",
    "pivae": "pivae",
    "pca": "pca/dpca",
    "dpca": "pca/dpca",
    "umap": "umap",
}


def schedule(costs: list[float], cores: int) -> float:
    """Makespan of the jobs, longest first, each on the first free core."""
    free = [0.0] * cores
    for c in sorted(costs, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def projection_by_stage(
    staged: list[tuple[str, float]], span_s: float, cores: int, seeds: int
) -> dict[str, Any]:
    """The projection as the reproduction record reads it (``--out`` JSON, key
    ``projection``): wall hours on ``cores`` and, per stage, jobs and job-hours."""
    stages: dict[str, dict[str, float]] = {}
    for stage, seconds in staged:
        entry = stages.setdefault(stage, {"jobs": 0, "job_hours": 0.0})
        entry["jobs"] += 1
        entry["job_hours"] += seconds / 3600
    return {"cores": cores, "seeds": seeds, "wall_h": span_s / 3600, "stages": stages}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--session", default="Mihili_20140217")
    ap.add_argument("--area", default="M1")
    ap.add_argument("--steps", type=int, default=60, help="timed steps per NER/CEBRA variant")
    ap.add_argument("--epochs", type=int, default=3, help="timed pi-VAE epochs per path")
    ap.add_argument("--cores", type=int, nargs="+", default=[2, 16])
    ap.add_argument(
        "--umap-s",
        default="",
        help="UMAP fit seconds on --session, before and now: 'UMAP=old/new,UMAP_label=old/new'",
    )
    ap.add_argument(
        "--side-by-side",
        type=int,
        default=0,
        metavar="N",
        help="also time NER/CEBRA steps with N processes at once and scale the projection by it",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker_steps(args.session, args.area, args.steps)))
        return 0
    torch.set_num_threads(1)
    data_dir, published = SHARED / "ner-sessions", SHARED / "ner-published"
    session, neural, labels = bench_session(args.session, args.area)
    ref_bins = len(neural)
    # pi-VAE's epoch below is timed with its defaults: the corrected protocol.
    ref_fit_bins = pivae_fit_bins(session)
    print(f"{session.name}: {ref_bins} training bins, {neural.shape[1]} neurons; 1 thread")

    steps = step_seconds(neural, labels, args.steps, 10)
    print(f"\nTraining step (measured, mean of {args.steps}):")
    for k, r in steps.items():
        print(
            f"  {k:30s} {r['step_mean_s'] * 1e3:7.2f} ms (sampling {r['sample_mean_s'] * 1e3:5.2f} ms)"
        )
    brute, fast = steps["CEBRA (brute search, before)"], steps["CEBRA"]
    print(f"  CEBRA step now / before: {fast['step_mean_s'] / brute['step_mean_s']:.2f}x")
    print(
        f"  NER / CEBRA, same exact search: {steps['NER']['step_mean_s'] / fast['step_mean_s']:.2f}x"
    )
    print(
        f"  NER / stock CEBRA (brute search): {steps['NER']['step_mean_s'] / brute['step_mean_s']:.2f}x"
    )
    logged = steps["NER (log_infonce, before)"]["step_mean_s"]
    print(
        f"  NER step now / with the authors' InfoNCE logging (before): "
        f"{steps['NER']['step_mean_s'] / logged:.2f}x; that one / CEBRA same search: "
        f"{logged / fast['step_mean_s']:.2f}x"
    )

    shared: dict[str, Any] = {}
    if args.side_by_side > 1:
        shared = side_by_side(args.side_by_side, args.session, args.area, args.steps)
        print(
            f"\nSide by side ({args.side_by_side} processes at once / one alone, fresh processes, "
            f"{args.steps} steps): "
            + ", ".join(
                f"{k} {shared['alone_s'][k] * 1e3:.2f} -> "
                f"{np.mean([w[k] for w in shared['together_s']]) * 1e3:.2f} ms ({f:.2f}x)"
                for k, f in shared["factor"].items()
            )
        )

    pivae = pivae_epoch_seconds(session, args.epochs)
    print(
        f"\npi-VAE s/epoch (measured, median of {args.epochs}): "
        + ", ".join(f"{k} {v:.2f}" for k, v in pivae.items())
    )
    quick = {k: quick_fit_seconds(session, k) for k in ("pca", "dpca")}
    fixed = fixed_seconds()
    print("PCA/dPCA fit (measured): " + ", ".join(f"{k} {v:.1f} s" for k, v in quick.items()))
    print(
        "Per-job fixed cost, fresh interpreter + imports (measured): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in fixed.items())
    )
    umap_s: dict[str, tuple[float, float]] = {}
    for item in filter(None, args.umap_s.split(",")):
        name, value = item.split("=")
        old, new = value.split("/")
        umap_s[name] = (float(old), float(new))

    jobs = planned_jobs(data_dir, published)
    bins = {}
    # pi-VAE's fit bins per session: (the corrected protocol, before; the authors' first
    # 60 % of the session, protocol: paper, now).
    fit_bins: dict[str, tuple[int, int]] = {}
    import yaml

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for _, name in jobs:
        if name not in bins:
            monkey, date, area = name.split("_")
            t_dur = next(d["t_dur"] for d in config["datasets"].values() if d["monkey"] == monkey)
            s = read_session(
                data_dir / f"{monkey}_{date}_neural_con_dis_index.mat", area, t_dur=t_dur
            )
            bins[name] = len(s.split("train")[0])
            fit_bins[name] = (pivae_fit_bins(s), paper_split(len(s.neural), t_dur)[0])
    print(
        f"\nall_figures, seed 0: {len(jobs)} training jobs over {len(bins)} session-areas: {dict(Counter(m for m, _ in jobs))}"
    )

    from ner_repro.methods.kinds import ENTRY_KEYS, kind_of
    from ner_repro.plan import Plan

    plan = Plan({**config, "seeds": [0, 1, 2]})

    def resolved(method: str) -> dict[str, Any]:
        """``methods.<method>`` with its kind's defaults for the settings it leaves out (the
        paper's config leaves NER's and CEBRA's at the paper's values, e.g. 20 000
        iterations)."""
        entry = config["methods"][method]
        params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
        return {"kind": entry["kind"], **kind_of(entry["kind"]).resolve(params, method=method)}

    def fit_cost(method: str, name: str, before: bool) -> float | None:
        """Seconds of one fit of ``method`` on session ``name`` (one seed)."""
        spec = resolved(method)
        scale = bins[name] / ref_bins
        kind = spec["kind"]
        if kind in ("ner", "cebra"):
            key = {
                "ner": "NER",
                "cebra": "CEBRA16" if spec.get("output_dimension") == 16 else "CEBRA",
            }[kind]
            step = steps[key]["step_mean_s"]
            if before and kind == "cebra":
                step += brute["step_mean_s"] - fast["step_mean_s"]
            if before and kind == "ner":  # with the authors' InfoNCE logging, as before
                step = steps["NER (log_infonce, before)"]["step_mean_s"]
            if shared:  # jobs run side by side: each step slower by the measured factor
                step *= shared["factor"]["NER" if kind == "ner" else "CEBRA"]
            return spec["max_iterations"] * step
        if kind == "pivae":
            epoch = pivae["before (fast: false)" if before else "now"]
            if before:  # 300 epochs everywhere, the corrected protocol
                return 300 * epoch * fit_bins[name][0] / ref_fit_bins
            area = name.split("_")[2]
            return epochs_for(spec["epochs"], area) * epoch * fit_bins[name][1] / ref_fit_bins
        if kind in ("pca", "dpca"):
            return quick[kind] * scale
        if kind == "umap":
            if method not in umap_s:
                return None
            return umap_s[method][0 if before else 1] * scale
        return None

    def job_costs(before: bool, seeds: int) -> list[tuple[str, float]]:
        """(stage, seconds) of every training job of all_figures with ``seeds`` seeds (pi-VAE
        its own count: 5 for 3 now). Before: one job per fit; now, UMAP: one job per session.
        Stages are named as the reproduction record names them."""
        out: list[tuple[str, float]] = []
        umap_jobs: dict[str, float] = {}
        for method, name in jobs:
            one = fit_cost(method, name, before)
            if one is None:
                continue
            kind = config["methods"][method]["kind"]
            n = seeds
            if not before and seeds > 1:
                n = len(plan.seeds_for(method))
            fixed_s = fixed[FIXED_KEY[kind]]
            if kind == "umap" and not before:
                umap_jobs[name] = umap_jobs.get(name, fixed_s) + n * one
            else:
                out += [(training_stage(method, kind), fixed_s + one)] * n
        return out + [(UMAP_STAGE, c) for c in umap_jobs.values()]

    report: dict[str, Any] = {
        "steps": steps,
        "pivae": pivae,
        "quick": quick,
        "fixed": fixed,
        "jobs": len(jobs),
        "side_by_side": shared,
    }
    unknown = sorted({m for m, n in jobs if fit_cost(m, n, False) is None})
    if unknown:
        print(f"  not measured (left out of the projection): {', '.join(unknown)} -- pass --umap-s")
    print(
        "\nProjected all_figures at the paper's settings (extrapolated from the measurements above):"
    )
    for before in (True, False):
        label = "before" if before else "now"
        for cores in args.cores:
            for seeds in (1, 3):
                staged = job_costs(before, seeds)
                costs = [c for _, c in staged]
                span = schedule(costs, cores)
                report[f"{label}_{cores}cores_{seeds}seeds_h"] = span / 3600
                if not before and seeds == 3 and cores == min(args.cores):
                    report["projection"] = projection_by_stage(staged, span, cores, seeds)
                    if shared:
                        report["projection"]["side_by_side"] = {
                            "copies": shared["copies"],
                            "factor": shared["factor"],
                        }
                print(
                    f"  {label:6s} {cores:2d} cores, {seeds} seed(s): {span / 3600:5.2f} h  "
                    f"({sum(costs) / 3600:.1f} core-hours, {len(costs)} jobs)"
                )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
