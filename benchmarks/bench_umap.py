"""Cost of the UMAP baselines: import, numba compilation, and the parts of a real fit.

Every number comes from a fresh Python process, as a Snakemake job would run it:

1. ``import umap`` and compilation with an empty numba cache (``warm_up``, what rule
   ``compile_umap`` does once per workflow run);
2. a real session's fit (``UMAP`` or ``UMAP_label``, the paper's settings, ``paper_test`` on)
   in a new process with the cache that step 1 left: the time of a UMAP job after the first;
3. the same fit with the previous wrapper (``git show <rev>:ner_repro/baselines/umap.py``,
   which compiled everything in every process), for the ratio and to check that both give
   bit-identical embeddings;
4. a ``train_umap`` job: ``--fits`` fits of the method (seeds ``seed``, ``seed + 1``, ...)
   one after another in one fresh process with the warm cache, as rule ``train_umap`` runs
   every UMAP fit of a session; the job's seconds per fit, import included.

Each fit is split into parts (NN-descent, fuzzy simplicial set, the categorical
intersection, spectral init, the layout epochs, the transform of the test split and the
second fit on the test split) with the seconds numba spent compiling in each.

Usage::

    python benchmarks/bench_umap.py [--session Mihili_20140303] [--area M1]
        [--method UMAP_label] [--old-rev HEAD] [--no-old] [--fits 6] [--out bench_umap.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))
DATA_DIR = SHARED / "data" / "ner-sessions"
#: Where the UMAP wrapper lives, newest first (it moved from baselines/ to methods/).
WRAPPERS = ("ner_repro/methods/umap.py", "ner_repro/baselines/umap.py")

#: umap.umap_ functions timed as parts of a fit (looked up as module globals at call time).
PARTS = (
    "nearest_neighbors",
    "fuzzy_simplicial_set",
    "discrete_metric_simplicial_set_intersection",
    "spectral_layout",
    "optimize_layout_euclidean",
    "init_graph_transform",
)


# -- worker (one fresh process) ----------------------------------------------------------
class _Compiles:
    """Seconds numba spent compiling (outermost ``numba:compile`` events)."""

    def __init__(self) -> None:
        from numba.core import event

        self.rec = event.RecordingListener()
        event.register("numba:compile", self.rec)

    def seconds(self) -> float:
        total, depth, start = 0.0, 0, 0.0
        for ts, ev in self.rec.buffer:
            if ev.is_start:
                start = ts if depth == 0 else start
                depth += 1
            else:
                depth -= 1
                total += ts - start if depth == 0 else 0.0
        return total


def _instrument(compiles: _Compiles) -> dict[str, dict[str, list[float]]]:
    """Time the parts of each phase (train fit, test transform, paper_test fit)."""
    import pynndescent
    import umap
    import umap.umap_ as umap_

    parts: dict[str, dict[str, list[float]]] = {}
    phase = {"name": "?"}

    def timed(fn: Any, name: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), compiles.seconds()
            try:
                return fn(*args, **kwargs)
            finally:
                acc = parts.setdefault(phase["name"], {}).setdefault(name, [0.0, 0.0])
                acc[0] += time.perf_counter() - t
                acc[1] += compiles.seconds() - c

        return wrapper

    for name in PARTS:
        setattr(umap_, name, timed(getattr(umap_, name), name))
    pynndescent.NNDescent.query = timed(pynndescent.NNDescent.query, "NNDescent.query")
    counter = {"fit": 0}

    def in_phase(fn: Any, kind: str) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if kind == "fit":
                phase["name"] = "train fit" if counter["fit"] == 0 else "paper_test fit"
                counter["fit"] += 1
            else:
                phase["name"] = "test transform"
            return timed(fn, "total")(self, *args, **kwargs)

        return wrapper

    umap.UMAP.fit_transform = in_phase(umap.UMAP.fit_transform, "fit")
    umap.UMAP.transform = in_phase(umap.UMAP.transform, "transform")
    return parts


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import importlib.util

    import numpy as np

    result: dict[str, Any] = {}
    compiles = _Compiles()
    if args.wrapper:
        # The old wrapper, in place of ner_repro.methods.umap (registers kind "umap").
        spec = importlib.util.spec_from_file_location("ner_repro.methods.umap", args.wrapper)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    import ner_repro.methods.umap as wrapper

    t0 = time.perf_counter()
    if hasattr(wrapper, "import_umap"):
        wrapper.import_umap()
    else:
        import umap  # noqa: F401
    result["import_s"] = time.perf_counter() - t0
    result["import_compile_s"] = compiles.seconds()
    if args.task == "warm_up":
        t0 = time.perf_counter()
        wrapper.warm_up()
        result["warm_up_s"] = time.perf_counter() - t0
        result["warm_up_compile_s"] = compiles.seconds() - result["import_compile_s"]
        return result
    from ner_repro.data.ingest import read_session

    monkey = args.session.split("_")[0]
    session = read_session(
        DATA_DIR / f"{args.session}_neural_con_dis_index.mat",
        args.area,
        t_dur=None if monkey == "Han" else 40,
    )
    result["n_train"] = int(session.is_train.sum())
    result["n_test"] = int((~session.is_train).sum())
    result["n_neurons"] = int(session.neural.shape[1])
    if args.task == "job":
        fits = []
        for seed in range(args.seed, args.seed + args.fits):
            t0 = time.perf_counter()
            wrapper.fit_umap(
                session,
                seed=seed,
                params={"supervised": args.method == "UMAP_label"},
                method=args.method,
            )
            fits.append(time.perf_counter() - t0)
        result["fits_s"] = fits
        result["job_compile_s"] = compiles.seconds()
        return result
    parts = _instrument(compiles)
    c0 = compiles.seconds()
    t0 = time.perf_counter()
    run = wrapper.fit_umap(
        session,
        seed=args.seed,
        params={"supervised": args.method == "UMAP_label"},
        method=args.method,
    )
    result["fit_s"] = time.perf_counter() - t0
    result["fit_compile_s"] = compiles.seconds() - c0
    result["parts"] = parts
    np.savez(args.save, train=run.train, test=run.test, test_paper=run.test_paper)
    return result


def _spawn(args: list[str], cache: Path | None) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("NUMBA_CACHE_DIR", None)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, __file__, "--worker-out", out.name, *args],
            env=env,
            check=True,
            cwd=REPO_ROOT,
        )
        return json.loads(Path(out.name).read_text())


# -- report ------------------------------------------------------------------------------
def _print_parts(label: str, res: dict[str, Any]) -> None:
    print(f"  {label}: fit_umap {res['fit_s']:.1f} s (compiling {res['fit_compile_s']:.1f} s)")
    for phase, parts in res["parts"].items():
        total = parts.pop("total", [0.0, 0.0])
        print(f"    {phase:15s} {total[0]:6.1f} s  (compiling {total[1]:.1f} s)")
        for name, (secs, comp) in parts.items():
            print(f"      {name:45s} {secs:6.1f} s  (compiling {comp:.1f} s)")


def _ratio(old: float, new: float) -> str:
    return f"{old / new:.1f}x" if new > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--session", default="Mihili_20140303", help="recording, {monkey}_{date}")
    ap.add_argument("--area", default="M1")
    ap.add_argument("--method", default="UMAP_label", choices=["UMAP", "UMAP_label"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--old-rev", default="HEAD", help="git revision of the old wrapper")
    ap.add_argument("--no-old", action="store_true", help="skip the old wrapper's run")
    ap.add_argument("--out", type=Path, default=None, help="write the numbers as JSON")
    # Internal: one measurement in this (fresh) process.
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    ap.add_argument(
        "--fits", type=int, default=6, help="fits in the train_umap job of step 4 (0: skip)"
    )
    ap.add_argument(
        "--task", default="fit", choices=["fit", "warm_up", "job"], help=argparse.SUPPRESS
    )
    ap.add_argument("--wrapper", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--save", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker_out:
        Path(args.worker_out).write_text(json.dumps(worker(args)))
        return 0

    import numpy as np

    common = ["--session", args.session, "--area", args.area, "--method", args.method]
    common += ["--seed", str(args.seed)]
    report: dict[str, Any] = {"session": args.session, "area": args.area, "method": args.method}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "numba-cache"
        print(f"1. empty numba cache ({cache}): import + warm_up (rule compile_umap)", flush=True)
        cold = _spawn(["--task", "warm_up"], cache)
        print(
            f"  import umap {cold['import_s']:.1f} s (compiling {cold['import_compile_s']:.1f} s); "
            f"warm_up {cold['warm_up_s']:.1f} s (compiling {cold['warm_up_compile_s']:.1f} s)",
            flush=True,
        )
        print(
            f"2. {args.method} on {args.session} {args.area}, fresh process, warm cache", flush=True
        )
        new = _spawn([*common, "--save", str(tmp / "new.npz")], cache)
        print(f"  {new['n_train']} train / {new['n_test']} test bins, {new['n_neurons']} neurons")
        print(f"  import umap {new['import_s']:.1f} s")
        _print_parts("new", new)
        report.update(cold=cold, new=new)
        if not args.no_old:
            for wrapper_path in WRAPPERS:
                old_src = subprocess.run(
                    ["git", "show", f"{args.old_rev}:{wrapper_path}"],
                    cwd=REPO_ROOT,
                    capture_output=True,
                    text=True,
                )
                if old_src.returncode == 0:
                    break
            if old_src.returncode != 0:
                print(f"(no old wrapper at {args.old_rev}: {old_src.stderr.strip()})")
            else:
                (tmp / "old_umap.py").write_text(old_src.stdout)
                print(f"3. the same fit with the wrapper of {args.old_rev} (numba's default cache)")
                old = _spawn(
                    [
                        *common,
                        "--wrapper",
                        str(tmp / "old_umap.py"),
                        "--save",
                        str(tmp / "old.npz"),
                    ],
                    None,
                )
                print(f"  import umap {old['import_s']:.1f} s")
                _print_parts("old", old)
                a, b = np.load(tmp / "old.npz"), np.load(tmp / "new.npz")
                same = {
                    k: bool(np.array_equal(a[k], b[k])) for k in ("train", "test", "test_paper")
                }
                print(
                    f"  fit in a fresh process: old {old['fit_s']:.1f} s, new {new['fit_s']:.1f} s "
                    f"({_ratio(old['fit_s'], new['fit_s'])}); import old {old['import_s']:.1f} s, "
                    f"new {new['import_s']:.1f} s ({_ratio(old['import_s'], new['import_s'])})"
                )
                print(f"  bit-identical embeddings old vs new: {same}")
                report.update(old=old, identical=same)
        if args.fits > 0:
            print(f"4. a train_umap job: {args.fits} fits in one fresh process, warm cache")
            t0 = time.perf_counter()
            job = _spawn([*common, "--task", "job", "--fits", str(args.fits)], cache)
            job["wall_s"] = time.perf_counter() - t0
            fits = ", ".join(f"{x:.1f}" for x in job["fits_s"])
            per_fit = job["wall_s"] / args.fits
            print(f"  import umap {job['import_s']:.1f} s; fits {fits} s")
            print(
                f"  job {job['wall_s']:.1f} s (process start and import included): "
                f"{per_fit:.1f} s per fit, against {new['fit_s']:.1f} s for a fit in its own "
                f"process ({_ratio(new['fit_s'], per_fit)})"
            )
            report.update(job=job)
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
