"""Training NER and CEBRA on one session: the ``"ner"`` and ``"cebra"`` method kinds.

Both follow the :class:`~ner_repro.methods.MethodFn` protocol and differ only in the
estimator: :class:`ner_patch.NER` (Rank-N-Contrast loss, velocity-only positives) or
:class:`ner_patch.SeededCEBRA` (stock CEBRA whose sampling follows the seed). The
settings default to the paper's (declared once, in :data:`ner_repro.methods.kinds.KINDS`);
every estimator argument can be overridden from the method's config entry, e.g.::

    methods:
      NER:     {kind: ner, max_iterations: 20000}
      CEBRA16: {kind: cebra, output_dimension: 16}

Two more config keys make long runs resumable:

``checkpoint``
    A file path. Every ``checkpoint_every`` iterations (and after the last one) the
    training state -- model, optimizer, loss history, sampler and torch random-number
    states -- is written there atomically. If the file exists when training starts and
    was written by the same configuration (method kind, settings, seed, training data,
    CEBRA and torch versions), training resumes from it; on CPU the result is
    bit-identical to an uninterrupted run. A checkpoint from a different configuration
    is ignored with a warning and overwritten. A finished run leaves its final
    checkpoint behind, so re-running it only recomputes the embeddings.
``checkpoint_every``
    Iterations between checkpoints (default 1000).
"""

from __future__ import annotations

import functools
import importlib.metadata
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ner_repro.core import atomic, provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods import checkpoint as ckpt
from ner_repro.methods.common import start

__all__ = ["estimator_params", "train_cebra", "train_embedding", "train_ner"]

#: The estimator (a :mod:`ner_patch` class) and the name of its loss, per kind.
ESTIMATORS = {"ner": ("NER", "RnC"), "cebra": ("SeededCEBRA", "InfoNCE")}
#: Settings of the run or of its data, not of the estimator.
_RUN_PARAMS = ("checkpoint", "checkpoint_every", "save_model", "shuffle_labels")
_CHECKPOINT_FORMAT = "ner_repro.methods.contrastive checkpoint 1"


def estimator_params(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The estimator arguments among resolved ``settings`` (the run's own keys left out)."""
    return {k: v for k, v in settings.items() if k not in _RUN_PARAMS}


def train_embedding(
    kind: str,
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str,
    device: str,
    progress: bool,
) -> EmbeddingRun:
    """Seed, fit the estimator of ``kind`` on the training trials, embed train and test.

    The other arguments are those of :class:`~ner_repro.methods.MethodFn`;
    :data:`train_ner` and :data:`train_cebra` are this function for one kind.
    """
    import ner_patch

    class_name, loss_name = ESTIMATORS[kind]
    estimator_cls = getattr(ner_patch, class_name)
    device = provenance.resolve_device(device)
    begin = start(kind, session, seed=seed, params=params, method=method, device=device)
    settings = estimator_params(begin.settings)
    path = Path(begin.settings["checkpoint"]) if begin.settings["checkpoint"] else None
    every = int(begin.settings["checkpoint_every"])

    x_train32 = begin.x_train.astype(np.float32)
    y_train32 = begin.y_fit.astype(np.float32)
    fingerprint = _fingerprint(class_name, settings, seed, x_train32, y_train32)

    # CEBRA's own bar redraws at every step (set_description); ours follows tqdm's
    # mininterval (TQDM_MININTERVAL; the workflow sets 10 s for its log files).
    estimator = estimator_cls(**settings, device=device, verbose=False)
    resume = ckpt.read(path, _CHECKPOINT_FORMAT, fingerprint) if path is not None else None
    start_step = int(resume["step"]) if resume is not None else 0
    max_iterations = int(settings["max_iterations"])
    bar = (
        tqdm(total=max_iterations, initial=start_step, desc=f"{method} {session.name}", unit="it")
        if progress
        else None
    )

    def callback(_: int, solver: Any) -> None:
        done = len(solver.history)
        if bar is not None:
            bar.set_postfix_str(f"{loss_name} {solver.history[-1]:.4f}", refresh=False)
            bar.update(done - bar.n)
        if path is not None and (done % every == 0 or done == max_iterations):
            ckpt.write(path, _CHECKPOINT_FORMAT, fingerprint, estimator.training_state())

    use_callback = path is not None or bar is not None
    fit_started = time.perf_counter()
    try:
        estimator.fit(
            x_train32,
            y_train32,
            callback=callback if use_callback else None,
            callback_frequency=1 if use_callback else None,
            resume=resume,
        )
    finally:
        if bar is not None:
            bar.close()
    fit_time = time.perf_counter() - fit_started
    steps_run = max_iterations - start_step

    if begin.settings["save_model"]:
        with atomic.atomic_path(begin.settings["save_model"], suffix=".pt") as tmp:
            estimator.save(str(tmp))
    log = estimator.solver_.log
    return begin.finish(
        config={"method": method, **begin.settings},
        train=estimator.transform(begin.x_train.astype(np.float32)),
        test=estimator.transform(begin.x_test.astype(np.float32)),
        loss=np.asarray(log["total"], dtype=np.float64),
        loss_name=loss_name,
        # CEBRA's InfoNCE alignment/uniformity terms (for NER only with log_infonce: true,
        # logged, not trained on).
        extras={
            f"infonce_{k}": np.asarray(log[k], dtype=np.float64) for k in ("pos", "neg") if log[k]
        },
        estimator=f"{estimator_cls.__module__}.{estimator_cls.__name__}",
        n_iterations=max_iterations,
        n_iterations_this_run=steps_run,
        resumed_from_step=start_step,
        fit_time_s=fit_time,
        steps_per_second=steps_run / fit_time if steps_run and fit_time > 0 else None,
        torch_threads=torch.get_num_threads(),
        training_fingerprint=fingerprint,
    )


#: NER (:class:`ner_patch.NER`, the rank loss) on the session's training trials.
train_ner = functools.partial(train_embedding, "ner")
#: Stock CEBRA (:class:`ner_patch.SeededCEBRA`) on the session's training trials.
train_cebra = functools.partial(train_embedding, "cebra")


def _fingerprint(
    estimator: str, settings: Mapping[str, Any], seed: int, x: np.ndarray, y: np.ndarray
) -> str:
    """What a checkpoint must have been written by to be resumed."""
    head = {
        "estimator": estimator,
        "settings": settings,
        "seed": int(seed),
        "cebra": importlib.metadata.version("cebra"),
        "torch": torch.__version__,
        "shapes": [list(x.shape), list(y.shape)],
    }
    return ckpt.fingerprint(head, (x, y))
