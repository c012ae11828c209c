"""The training-step timer both timing benchmarks use (``benchmarks/bench_ner.py``'s
``StepTimer``, read by ``bench_pipeline.py``) drives NER and CEBRA as their ``fit`` does.

The benchmarks stay outside the suite; this checks only that they can still prepare and run a
training loop (they broke once, silently, when NER began setting its label metric in ``fit``).
"""

from __future__ import annotations

import numpy as np
import pytest

import ner_patch


@pytest.mark.parametrize("kind", ["NER", "CEBRA"])
def test_step_timer_runs_the_training_loop_as_fit_does(kind, bench_module):
    bench_ner = bench_module("bench_ner")
    rng = np.random.default_rng(0)
    neural = rng.normal(size=(300, 20)).astype(np.float32)
    labels = np.column_stack(
        [rng.uniform(-1, 1, 300), rng.uniform(-1, 1, 300), rng.uniform(0, 360, 300)]
    ).astype(np.float32)
    settings = {**bench_ner.SETTINGS, "batch_size": 64, "max_iterations": 5}
    estimator = ner_patch.NER(**settings) if kind == "NER" else ner_patch.SeededCEBRA(**settings)
    timer = bench_ner.StepTimer(estimator, neural, labels, 5)
    timer.run(2, record=False)
    before = [p.detach().clone() for p in timer.solver.model.parameters()]
    timer.run(3)
    summary = timer.summary()
    assert summary["steps"] == 3 and summary["step_mean_s"] > 0
    after = list(timer.solver.model.parameters())
    assert any(not np.allclose(a.detach(), b) for a, b in zip(after, before, strict=True)), (
        "the timed steps did not train the model"
    )
