"""Benchmark NER against the plain loop and against CEBRA, side by side in one run.

1. **Loss.** Forward + backward of the NER loss at ``B = 512`` (``n = 1024``), ``d = 3``:
   the plain loop (the authors' algorithm: one Python iteration per column ``j``, each
   masking the whole ``n x (n-1)`` matrix, ``O(n^3)``) against :func:`ner_patch.ner_loss`,
   on the same inputs. Target: ``ner_loss`` at least 50x faster.
2. **Training step.** One CEBRA training iteration (draw a batch, embed, loss, backward,
   Adam update) of :class:`ner_patch.NER` against stock :class:`cebra.CEBRA`, paper
   settings (METHODS §3, see ``docs/sources.md``), on the training trials of a real session.
   Steps are timed in alternating blocks after a warm-up, so that machine noise hits both
   alike. Target: an NER step at most 1.5x a CEBRA step (the authors report 2x).

Usage::

    python benchmarks/bench_ner.py [--session Mihili_20140217 --area M1] [--out bench.json]

Torch runs with its default number of threads (all cores) unless ``--threads`` says
otherwise. The script prints a table and, with ``--out``, writes the same numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cebra
import numpy as np
import torch

import ner_patch
from ner_patch.loss import DIST_EPS, label_distance
from ner_repro.core import atomic, provenance
from ner_repro.data.ingest import read_session

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = (
    Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared")) / "data" / "ner-sessions"
)

#: Paper settings (METHODS §3; docs/sources.md).
SETTINGS: dict[str, Any] = {
    "model_architecture": "offset1-model",
    "batch_size": 512,
    "learning_rate": 1e-4,
    "temperature": 1.0,
    "output_dimension": 3,
    "distance": "cosine",
    "conditional": "time_delta",
    "time_offsets": 1,
    "device": "cpu",
}

TARGET_LOSS_SPEEDUP = 50.0
TARGET_STEP_RATIO = 1.5


# -- the plain loop --------------------------------------------------------------------------
def loop_ner_loss(
    features: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """The NER loss as the authors compute it: a Python loop over the n - 1 columns ``j``.

    Same formula and the same distance clamp as :func:`ner_patch.ner_loss`; each iteration
    masks the full ``n x (n-1)`` matrix, so a step is ``O(n^3)``.
    """
    feats = torch.cat([features[:, 0], features[:, 1]])
    dist_label = label_distance(torch.cat([labels, labels]))
    n = feats.shape[0]
    sq = (feats[:, None, :] - feats[None, :, :]).square().sum(-1)
    logits = -sq.clamp(min=DIST_EPS).sqrt() / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    off_diagonal = ~torch.eye(n, dtype=torch.bool)
    logits = logits.masked_select(off_diagonal).view(n, n - 1)
    exp_logits = logits.exp()
    dist_label = dist_label.masked_select(off_diagonal).view(n, n - 1)
    loss = torch.zeros((), dtype=feats.dtype)
    for j in range(n - 1):
        tie_or_farther = dist_label >= dist_label[:, j : j + 1]
        denominator = torch.where(tie_or_farther, exp_logits, 0.0).sum(dim=-1)
        loss = loss - (logits[:, j] - denominator.log()).sum() / (n * (n - 1))
    return loss


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_loss(batch: int, dim: int, loop_reps: int, loss_reps: int, seed: int) -> dict[str, Any]:
    """Forward + backward seconds of the plain loop and of ner_loss on the same inputs."""
    gen = torch.Generator().manual_seed(seed)
    features = torch.nn.functional.normalize(torch.randn(batch, 2, dim, generator=gen), dim=-1)
    labels = torch.cat(
        [
            10 * torch.randn(batch, 2, generator=gen),
            45.0 * torch.randint(0, 8, (batch, 1), generator=gen),
        ],
        1,
    )

    def step(fn: Callable[..., torch.Tensor]) -> Callable[[], float]:
        def run() -> float:
            x = features.clone().requires_grad_(True)
            loss = fn(x, labels)
            loss.backward()
            return loss.item()

        return run

    loop_step, fast_step = step(loop_ner_loss), step(ner_patch.ner_loss)
    value_loop, value_fast = loop_step(), fast_step()  # also warm-up
    for _ in range(3):
        fast_step()
    loop_times: list[float] = []
    fast_times: list[float] = []
    per_round = max(1, loss_reps // loop_reps)
    for _ in range(loop_reps):  # alternate: one loop step, then a block of fast steps
        loop_times.append(timed(loop_step))
        fast_times.extend(timed(fast_step) for _ in range(per_round))
    loop_s, fast_s = statistics.median(loop_times), statistics.median(fast_times)
    return {
        "batch_size": batch,
        "n_features": 2 * batch,
        "dim": dim,
        "loop_s": loop_s,
        "ner_loss_s": fast_s,
        "speedup": loop_s / fast_s,
        "loop_reps": len(loop_times),
        "ner_loss_reps": len(fast_times),
        "loss_value_loop": value_loop,
        "loss_value_ner_loss": value_fast,
    }


# -- training steps ----------------------------------------------------------------------------
class StepTimer:
    """A prepared estimator (loader, model, solver) whose training iterations can be timed."""

    def __init__(
        self, estimator: cebra.CEBRA, neural: np.ndarray, labels: np.ndarray, steps: int
    ) -> None:
        if isinstance(estimator, ner_patch.NER):  # as NER.fit does: labels checked, metric set
            labels = estimator._checked_labels(neural, (labels,))
        solver, model, loader, _ = estimator._prepare_fit(neural, labels)
        solver._set_fitted_params(loader)
        solver.to(loader.device)
        model.train()
        loader.num_steps = steps
        self.solver = solver
        self.batches = iter(loader)
        self.sample_s: list[float] = []
        self.update_s: list[float] = []

    def run(self, steps: int, record: bool = True) -> float:
        """``steps`` iterations of CEBRA's training loop (``Solver.fit`` without the progress bar).

        Returns the seconds they took.
        """
        block_start = time.perf_counter()
        for _ in range(steps):
            start = time.perf_counter()
            batch = next(self.batches)
            sampled = time.perf_counter()
            self.solver.step(batch)
            done = time.perf_counter()
            if record:
                self.sample_s.append(sampled - start)
                self.update_s.append(done - sampled)
        return time.perf_counter() - block_start

    def summary(self) -> dict[str, float]:
        total = [a + b for a, b in zip(self.sample_s, self.update_s, strict=True)]
        return {
            "steps": len(total),
            "step_mean_s": statistics.fmean(total),
            "step_median_s": statistics.median(total),
            "sample_mean_s": statistics.fmean(self.sample_s),
            "update_mean_s": statistics.fmean(self.update_s),
        }


def bench_training(
    data_dir: Path,
    session: str,
    area: str,
    t_dur: int,
    steps: int,
    warmup: int,
    block: int,
    seed: int,
) -> dict[str, Any]:
    path = data_dir / f"{session}_neural_con_dis_index.mat"
    data = read_session(path, area, t_dur=t_dur)
    neural, labels = data.split("train")
    neural, labels = neural.astype(np.float32), labels.astype(np.float32)
    torch.manual_seed(seed)
    timers = {
        "NER": StepTimer(ner_patch.NER(**SETTINGS), neural, labels, steps + warmup),
        "CEBRA": StepTimer(cebra.CEBRA(**SETTINGS), neural, labels, steps + warmup),
    }
    for timer in timers.values():
        timer.run(warmup, record=False)
    done = 0
    block_ratios = []
    while done < steps:  # alternate blocks, starting with each method in turn
        size = min(block, steps - done)
        order = ("NER", "CEBRA") if (done // block) % 2 == 0 else ("CEBRA", "NER")
        seconds = {name: timers[name].run(size) for name in order}
        block_ratios.append(seconds["NER"] / seconds["CEBRA"])
        done += size
    results = {name: timer.summary() for name, timer in timers.items()}
    return {
        "session": data.name,
        "training_bins": len(neural),
        "neurons": neural.shape[1],
        "settings": SETTINGS,
        "warmup_steps": warmup,
        "block_steps": block,
        **results,
        "ratio_mean": results["NER"]["step_mean_s"] / results["CEBRA"]["step_mean_s"],
        "ratio_median": results["NER"]["step_median_s"] / results["CEBRA"]["step_median_s"],
        # NER block / the CEBRA block next to it: robust to load that drifts during the run.
        "ratio_block_median": statistics.median(block_ratios),
        "block_ratios": block_ratios,
    }


# -- main ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="folder of the *_neural_con_dis_index.mat files",
    )
    parser.add_argument("--session", default="Mihili_20140217", help="recording, {monkey}_{date}")
    parser.add_argument("--area", default="M1")
    parser.add_argument(
        "--t-dur", type=int, default=40, help="bins per trial (for files that do not store it)"
    )
    parser.add_argument("--steps", type=int, default=300, help="timed training steps per method")
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed training steps per method first"
    )
    parser.add_argument(
        "--block", type=int, default=25, help="steps per block when alternating methods"
    )
    parser.add_argument("--batch-size", type=int, default=512, help="B for the loss benchmark")
    parser.add_argument("--dim", type=int, default=3, help="d for the loss benchmark")
    parser.add_argument(
        "--loop-reps", type=int, default=3, help="timed repetitions of the plain loop"
    )
    parser.add_argument("--loss-reps", type=int, default=60, help="timed repetitions of ner_loss")
    parser.add_argument(
        "--threads", type=int, help="torch intra-op threads (default: torch's default, all cores)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-loss", action="store_true", help="skip the loss benchmark")
    parser.add_argument(
        "--skip-training", action="store_true", help="skip the training-step benchmark"
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_start": list(os.getloadavg()),
        },
        "packages": provenance.package_versions(("cebra", "torch", "numpy")),
        "targets": {"loss_speedup_min": TARGET_LOSS_SPEEDUP, "step_ratio_max": TARGET_STEP_RATIO},
    }
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), cebra {cebra.__version__}, "
        f"{report['machine']['cpu_count']} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    if not args.skip_loss:
        loss = bench_loss(args.batch_size, args.dim, args.loop_reps, args.loss_reps, args.seed)
        report["loss"] = loss
        ok = "meets" if loss["speedup"] >= TARGET_LOSS_SPEEDUP else "MISSES"
        print(
            f"\nLoss forward+backward, B={loss['batch_size']} (n={loss['n_features']}), d={loss['dim']}"
        )
        print(f"  plain loop   {loss['loop_s'] * 1e3:10.1f} ms  (median of {loss['loop_reps']})")
        print(
            f"  ner_loss     {loss['ner_loss_s'] * 1e3:10.2f} ms  (median of {loss['ner_loss_reps']})"
        )
        print(
            f"  speedup      {loss['speedup']:10.0f}x   ({ok} the >= {TARGET_LOSS_SPEEDUP:.0f}x target)"
        )
        print(
            f"  values       loop {loss['loss_value_loop']:.6f}, ner_loss {loss['loss_value_ner_loss']:.6f}"
        )
    if not args.skip_training:
        steps = bench_training(
            args.data_dir,
            args.session,
            args.area,
            args.t_dur,
            args.steps,
            args.warmup,
            args.block,
            args.seed,
        )
        report["training"] = steps
        ok = "meets" if steps["ratio_mean"] <= TARGET_STEP_RATIO else "MISSES"
        print(
            f"\nTraining step, {steps['session']} ({steps['training_bins']} training bins, {steps['neurons']} neurons), "
            f"batch {SETTINGS['batch_size']}, {steps['NER']['steps']} steps each in alternating blocks of {args.block}"
        )
        print(f"  {'':8s} {'mean':>9s} {'median':>9s} {'sampling':>9s} {'update':>9s}")
        for name in ("CEBRA", "NER"):
            r = steps[name]
            print(
                f"  {name:8s} {r['step_mean_s'] * 1e3:7.1f}ms {r['step_median_s'] * 1e3:7.1f}ms "
                f"{r['sample_mean_s'] * 1e3:7.1f}ms {r['update_mean_s'] * 1e3:7.1f}ms"
            )
        print(
            f"  NER/CEBRA {steps['ratio_mean']:.2f}x (mean), {steps['ratio_median']:.2f}x (median), "
            f"{steps['ratio_block_median']:.2f}x (median over adjacent blocks)  "
            f"({ok} the <= {TARGET_STEP_RATIO}x target)"
        )
    report["machine"]["load_average_end"] = list(os.getloadavg())
    if args.out is not None:
        atomic.write_text(args.out, json.dumps(report, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
