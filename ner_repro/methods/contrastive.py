"""Training NER and CEBRA on one session: the ``"ner"`` and ``"cebra"`` method kinds.

Both follow the :class:`~ner_repro.methods.MethodFn` protocol and differ only in the
estimator: :class:`ner_patch.NER` (Rank-N-Contrast loss, velocity-only positives) or
:class:`ner_patch.SeededCEBRA` (stock CEBRA whose sampling follows the seed). The
settings default to the paper's (METHODS §3, :data:`PAPER_SETTINGS`); every estimator
argument can be overridden from the method's config entry, e.g.::

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
    Iterations between checkpoints (default :data:`DEFAULT_CHECKPOINT_EVERY`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ner_repro.core import atomic, provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.methods import register

__all__ = [
    "DEFAULT_CHECKPOINT_EVERY",
    "PAPER_SETTINGS",
    "estimator_params",
    "train_cebra",
    "train_embedding",
    "train_ner",
]

#: The paper's training settings (METHODS §3); ``output_dimension`` 16 for "CEBRA 16D".
PAPER_SETTINGS: dict[str, Any] = {
    "model_architecture": "offset1-model",
    "batch_size": 512,
    "learning_rate": 1e-4,
    "temperature": 1.0,
    "output_dimension": 3,
    "max_iterations": 20000,
    "distance": "cosine",
    "conditional": "time_delta",
    "time_offsets": 1,
}

#: Iterations between checkpoints when ``checkpoint`` is set without ``checkpoint_every``.
DEFAULT_CHECKPOINT_EVERY = 1000

_RUN_PARAMS = ("checkpoint", "checkpoint_every")
# Set from the method call, not from the config.
_CALL_PARAMS = ("device", "verbose")
_CHECKPOINT_FORMAT = "ner_repro.methods.contrastive checkpoint 1"


@register("ner", resumable=True)
def train_ner(
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str,
    device: str,
    progress: bool,
) -> EmbeddingRun:
    """Train :class:`ner_patch.NER` on the session's training trials and embed both parts."""
    import ner_patch

    return train_embedding(
        ner_patch.NER,
        "ner",
        "RnC",
        session,
        seed=seed,
        params=params,
        method=method,
        device=device,
        progress=progress,
    )


@register("cebra", resumable=True)
def train_cebra(
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str,
    device: str,
    progress: bool,
) -> EmbeddingRun:
    """Train stock CEBRA (:class:`ner_patch.SeededCEBRA`) and embed both parts."""
    import ner_patch

    return train_embedding(
        ner_patch.SeededCEBRA,
        "cebra",
        "InfoNCE",
        session,
        seed=seed,
        params=params,
        method=method,
        device=device,
        progress=progress,
    )


def estimator_params(estimator_cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """:data:`PAPER_SETTINGS` overridden by the estimator arguments in ``params``.

    Raises ``ValueError`` for keys that are neither estimator arguments nor
    ``checkpoint``/``checkpoint_every``, and for ``device``/``verbose`` (set by the caller).
    """
    known = set(estimator_cls().get_params()) - set(_CALL_PARAMS)
    unknown = sorted(set(params) - known - set(_RUN_PARAMS))
    if unknown:
        raise ValueError(
            f"unknown {estimator_cls.__name__} setting(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(known | set(_RUN_PARAMS)))} (device and progress are chosen by the workflow)"
        )
    settings = dict(PAPER_SETTINGS)
    settings.update({k: v for k, v in params.items() if k not in _RUN_PARAMS})
    return settings


def train_embedding(
    estimator_cls: type,
    kind: str,
    loss_name: str,
    session: SessionData,
    *,
    seed: int,
    params: Mapping[str, Any],
    method: str,
    device: str,
    progress: bool,
) -> EmbeddingRun:
    """Seed, fit ``estimator_cls`` on the training trials, embed train and test, record provenance.

    ``kind`` is the registered method kind and ``loss_name`` the name of the recorded loss;
    the other arguments are those of :class:`~ner_repro.methods.MethodFn`.
    """
    started = time.perf_counter()
    settings = estimator_params(estimator_cls, params)
    checkpoint = Path(params["checkpoint"]) if params.get("checkpoint") else None
    every = int(params.get("checkpoint_every") or DEFAULT_CHECKPOINT_EVERY)
    if every <= 0:
        raise ValueError(f"checkpoint_every must be positive, got {every}")
    device = provenance.resolve_device(device)

    x_train, y_train = session.split("train")
    x_test, y_test = session.split("test")
    x_train32, y_train32 = x_train.astype(np.float32), y_train.astype(np.float32)
    fingerprint = _fingerprint(estimator_cls, settings, seed, x_train32, y_train32)

    provenance.seed_everything(seed)
    # CEBRA's own bar redraws at every step (set_description); ours follows tqdm's
    # mininterval (TQDM_MININTERVAL; the workflow sets 10 s for its log files).
    estimator = estimator_cls(**settings, device=device, verbose=False)
    resume = _read_checkpoint(checkpoint, fingerprint) if checkpoint is not None else None
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
        if checkpoint is not None and (done % every == 0 or done == max_iterations):
            _write_checkpoint(checkpoint, fingerprint, estimator.training_state())

    use_callback = checkpoint is not None or bar is not None
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

    train = estimator.transform(x_train.astype(np.float32))
    test = estimator.transform(x_test.astype(np.float32))
    log = estimator.solver_.log
    meta = provenance.run_metadata(
        config={
            "method": method,
            "kind": kind,
            **settings,
            **{k: params[k] for k in _RUN_PARAMS if k in params},
        },
        seed=seed,
        device=device,
        wall_time_s=time.perf_counter() - started,
        estimator=f"{estimator_cls.__module__}.{estimator_cls.__name__}",
        n_iterations=max_iterations,
        n_iterations_this_run=steps_run,
        resumed_from_step=start_step,
        fit_time_s=fit_time,
        steps_per_second=steps_run / fit_time if steps_run and fit_time > 0 else None,
        torch_threads=torch.get_num_threads(),
        session=session.name,
        session_source=session.source,
        session_source_sha256=session.source_sha256,
        training_fingerprint=fingerprint,
    )
    return EmbeddingRun(
        method=method,
        session=session.name,
        seed=seed,
        train=train,
        test=test,
        labels_train=y_train,
        labels_test=y_test,
        t_dur=session.t_dur,
        loss=np.asarray(log["total"], dtype=np.float64),
        loss_name=loss_name,
        # CEBRA's InfoNCE alignment/uniformity terms (for NER only with log_infonce: true,
        # logged, not trained on).
        extras={
            f"infonce_{k}": np.asarray(log[k], dtype=np.float64) for k in ("pos", "neg") if log[k]
        },
        meta=meta,
    )


def _fingerprint(
    estimator_cls: type, settings: Mapping[str, Any], seed: int, x: np.ndarray, y: np.ndarray
) -> str:
    """What a checkpoint must have been written by to be resumed."""
    digest = hashlib.sha256()
    head = {
        "estimator": estimator_cls.__name__,
        "settings": settings,
        "seed": int(seed),
        "cebra": importlib.metadata.version("cebra"),
        "torch": torch.__version__,
        "shapes": [list(x.shape), list(y.shape)],
    }
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()


def _write_checkpoint(path: Path, fingerprint: str, state: dict[str, Any]) -> None:
    payload = {"format": _CHECKPOINT_FORMAT, "fingerprint": fingerprint, "state": state}
    with atomic.atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _read_checkpoint(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """The training state in ``path`` if it exists and matches ``fingerprint``; else ``None``."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unreadable checkpoint is a stale cache, not an input error
        warnings.warn(f"{path}: unreadable checkpoint ({exc}); training from scratch", stacklevel=3)
        return None
    if not isinstance(payload, dict) or payload.get("format") != _CHECKPOINT_FORMAT:
        warnings.warn(f"{path}: not a training checkpoint; training from scratch", stacklevel=3)
        return None
    if payload.get("fingerprint") != fingerprint:
        warnings.warn(
            f"{path}: checkpoint was written for a different configuration, seed or data; training from scratch",
            stacklevel=3,
        )
        return None
    return payload["state"]
