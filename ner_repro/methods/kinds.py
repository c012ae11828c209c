"""Every method kind, declared once: where it is implemented, what it accepts, how it runs.

A config entry ``methods.<name>`` names a *kind* (``kind: ner``) and sets some of that kind's
settings. :data:`KINDS` is the one table of kinds; each :class:`Kind` says

* which function implements it (``module:function``, imported only when the kind is run, so
  that planning a workflow or fitting PCA does not import torch or compile UMAP);
* which settings it accepts, each with its default (``UNSET``: the library's own default, not
  passed) and a check of its value, so that a bad setting is reported with the method and key
  when the workflow is planned, before any job runs (:func:`check_methods`);
* whether it can checkpoint and resume (``resumable``), trains on the GPU when the workflow
  uses one (``gpu``), is rotated onto an anchor session in Fig3/6/7 (``rotated``; PCA and dPCA
  are drawn as they are, as the authors did).

The paper's training settings of NER and CEBRA (METHODS §3 of the specification, summarised in
``docs/sources.md``: offset-1 model, batch 512, learning rate 1e-4, temperature 1, 3 output
dimensions, 20 000 iterations, cosine distance, ``time_delta`` positives) are the defaults of
those two kinds here, and nowhere else. This module imports nothing heavy (PyYAML only).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "KINDS",
    "UNSET",
    "Kind",
    "Setting",
    "check_methods",
    "kind_of",
    "method_problems",
]


class _Unset:
    """The default of a setting left to the library (not passed at all)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

#: A check returns what is wrong with a value, or ``None`` when it is acceptable.
Check = Callable[[Any], "str | None"]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def whole(minimum: int = 0) -> Check:
    def check(value: Any) -> str | None:
        if _is_number(value) and math.isfinite(value) and value == int(value) and value >= minimum:
            return None
        return f"must be a whole number >= {minimum}, got {value!r}"

    return check


def positive(value: Any) -> str | None:
    if _is_number(value) and math.isfinite(value) and value > 0:
        return None
    return f"must be a number > 0, got {value!r}"


def fraction(value: Any) -> str | None:
    if _is_number(value) and 0 <= value < 1:
        return None
    return f"must be a number in [0, 1), got {value!r}"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else f"must be a text, got {value!r}"


def anything(value: Any) -> str | None:
    return None


def one_of(*choices: Any) -> Check:
    def check(value: Any) -> str | None:
        if value in choices:
            return None
        return f"must be one of {', '.join(map(repr, choices))}, got {value!r}"

    return check


def optional(inner: Check) -> Check:
    """``inner``, or ``null``."""

    def check(value: Any) -> str | None:
        if value is None:
            return None
        problem = inner(value)
        return None if problem is None else f"{problem} (or null)"

    return check


def per_area(inner: Check) -> Check:
    """``inner``, or a mapping from recording area (``M1``, ``PMd``, ``S1``) to such a value."""

    def check(value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return inner(value)
        problems = [f"{area}: {p}" for area, v in value.items() if (p := inner(v)) is not None]
        return "; ".join(problems) or None

    return check


@dataclass(frozen=True)
class Setting:
    """One accepted setting of a kind: its default and the check of a configured value."""

    default: Any = UNSET
    check: Check = anything

    def coerce(self, value: Any) -> Any:
        """``value``, or the YAML value of a text the check refuses but whose YAML value it
        accepts (Snakemake's ``--config methods="{NER: {max_iterations: 500}}"`` gives texts)."""
        if isinstance(value, str) and self.check(value) is not None:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                return value
            if self.check(parsed) is None:
                return parsed
        return value


@dataclass(frozen=True)
class Kind:
    """One method kind (module docstring)."""

    name: str
    #: ``module:function`` of the :class:`~ner_repro.methods.registry.MethodFn`.
    implementation: str
    summary: str
    settings: Mapping[str, Setting] = field(default_factory=dict)
    resumable: bool = False
    gpu: bool = False
    rotated: bool = False

    @property
    def defaults(self) -> dict[str, Any]:
        """The settings that have a default of their own (not left to the library)."""
        return {k: s.default for k, s in self.settings.items() if s.default is not UNSET}

    def problems(self, params: Mapping[str, Any]) -> list[str]:
        """What is wrong with ``params`` (settings of this kind), as ``key: problem`` lines."""
        out = []
        for key in sorted(set(params) - set(self.settings), key=str):
            out.append(
                f"{key}: not a setting of method kind {self.name!r} "
                f"(accepted: {', '.join(sorted(self.settings))})"
            )
        for key, value in params.items():
            setting = self.settings.get(key)
            if setting is not None and (problem := setting.check(setting.coerce(value))):
                out.append(f"{key}: {problem}")
        return out

    def resolve(self, params: Mapping[str, Any], *, method: str | None = None) -> dict[str, Any]:
        """:attr:`defaults` updated by ``params``, after checking them.

        Raises ``ValueError`` naming the method (or kind) and each offending key. Resolving a
        resolved mapping returns it unchanged.
        """
        problems = self.problems(params)
        if problems:
            who = f"methods.{method}" if method else f"method kind {self.name!r}"
            raise ValueError(
                "invalid configuration:\n" + "\n".join(f"- {who}.{p}" for p in problems)
            )
        return {**self.defaults, **{k: self.settings[k].coerce(v) for k, v in params.items()}}


#: Settings of a method entry that are the workflow's, not the kind's.
ENTRY_KEYS = ("kind", "label", "seeds")

# -- NER and CEBRA: the CEBRA estimator's arguments, with the paper's values as defaults ------
_CHECKPOINTING = {
    # A file for the training state, written every ``checkpoint_every`` iterations (or
    # epochs) and at the end; an interrupted run resumes from it (see the kind's module).
    "checkpoint": Setting(None, optional(text)),
}
_CONTRASTIVE: dict[str, Setting] = {
    # The paper's settings (METHODS §3; docs/sources.md).
    "model_architecture": Setting("offset1-model", text),
    "batch_size": Setting(512, optional(whole(1))),
    "learning_rate": Setting(1e-4, positive),
    "temperature": Setting(1.0, positive),
    "output_dimension": Setting(3, whole(1)),
    "max_iterations": Setting(20000, whole(1)),
    "distance": Setting("cosine", one_of("cosine", "euclidean")),
    "conditional": Setting("time_delta", one_of("time", "delta", "time_delta")),
    "time_offsets": Setting(1, anything),
    # The other arguments of cebra.CEBRA, left at CEBRA's defaults unless set.
    "criterion": Setting(check=text),
    "delta": Setting(check=optional(positive)),
    "hybrid": Setting(check=boolean),
    "masking_kwargs": Setting(check=anything),
    "max_adapt_iterations": Setting(check=whole(1)),
    "min_temperature": Setting(check=positive),
    "num_hidden_units": Setting(check=whole(1)),
    "optimizer": Setting(check=text),
    "optimizer_kwargs": Setting(check=anything),
    "pad_before_transform": Setting(check=boolean),
    "temperature_mode": Setting(check=one_of("constant", "auto")),
    # ner_patch: the positive search (exact = CEBRA's answer, fast on the CPU).
    "search": Setting(check=one_of("auto", "exact", "kdtree", "brute")),
    **_CHECKPOINTING,
    # Iterations between checkpoints.
    "checkpoint_every": Setting(1000, whole(1)),
    # A file to save the fitted model to (estimator.save; the workflow's save_models).
    "save_model": Setting(None, optional(text)),
    # The shuffled-label control (ner_repro.methods.common.shuffled_labels): train on the
    # training bins' labels permuted in time, as CEBRA's guide does it.
    "shuffle_labels": Setting(False, boolean),
}

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "ner",
            "ner_repro.methods.contrastive:train_ner",
            "NER (ner_patch.NER, the rank loss)",
            {
                **_CONTRASTIVE,
                # Also log CEBRA's InfoNCE terms of each batch (not trained on).
                "log_infonce": Setting(check=boolean),
                # How the labels are read (ner_patch.NER; default the paper's for three
                # columns): positive columns, {column: period} of circular ones, weights.
                "positive_columns": Setting(check=optional(anything)),
                "circular_columns": Setting(check=optional(anything)),
                "label_weights": Setting(check=optional(anything)),
            },
            resumable=True,
            gpu=True,
            rotated=True,
        ),
        Kind(
            "cebra",
            "ner_repro.methods.contrastive:train_cebra",
            "stock CEBRA (InfoNCE), sampling seeded",
            _CONTRASTIVE,
            resumable=True,
            gpu=True,
            rotated=True,
        ),
        Kind(
            "pca",
            "ner_repro.methods.pca:fit_pca",
            "PCA of the direction-averaged trajectories",
            {
                "n_components": Setting(3, whole(1)),
                # Also fit the authors' plotted-only single-trial PCA on the training bins.
                "single_trial": Setting(True, boolean),
            },
        ),
        Kind(
            "dpca",
            "ner_repro.methods.dpca:fit_dpca",
            "demixed PCA (stimulus x time), dPCA package",
            {
                "n_components": Setting(3, whole(1)),
                # "auto" (cross-validated, the authors' choice), a number, or null (none).
                "regularizer": Setting(
                    "auto", lambda v: None if v in ("auto", None) else positive(v)
                ),
                # Cross-validation repetitions for regularizer="auto" (dPCA's n_trials).
                "cv_folds": Setting(3, whole(1)),
                "protect": Setting(["t"], anything),
                # Power iterations of sklearn's randomized SVD inside dPCA (its default, 0).
                "n_iter": Setting(0, whole(0)),
            },
        ),
        Kind(
            "umap",
            "ner_repro.methods.umap:fit_umap",
            "UMAP, unsupervised or with the angle as label",
            {
                "supervised": Setting(False, boolean),
                "n_neighbors": Setting(68, whole(2)),
                "min_dist": Setting(
                    0.2475,
                    lambda v: (
                        None if _is_number(v) and v >= 0 else f"must be a number >= 0, got {v!r}"
                    ),
                ),
                "n_components": Setting(2, whole(1)),
                "metric": Setting("euclidean", text),
                "target_metric": Setting("categorical", text),
                # Optimisation epochs; null = UMAP's default (500 below 10,000 points, else 200).
                "n_epochs": Setting(None, optional(whole(1))),
                # Seeded and single-threaded (true) or the authors' unseeded parallel run.
                "deterministic": Setting(True, boolean),
                # Also compute the authors' test embedding (a separate fit on the test split).
                "paper_test": Setting(True, boolean),
            },
            rotated=True,
        ),
        Kind(
            "pivae",
            "ner_repro.methods.pivae:fit_pivae",
            "conv pi-VAE (Zhou & Wei 2020), in PyTorch",
            {
                "latent_dim": Setting(3, whole(1)),
                "n_blocks": Setting(2, whole(1)),
                # Keras' conv_vae_mdl takes gen_nodes=60 but never passes it on: the flow's
                # hidden width is D // 4. Kept for the record; no effect, as in the original.
                "gen_nodes": Setting(60, whole(1)),
                "prior_hidden": Setting(20, whole(1)),
                "conv_channels": Setting(32, whole(1)),
                "learning_rate": Setting(2.5e-4, positive),
                "batch_size": Setting(200, whole(1)),
                # A number, or one per area ({M1: 300, PMd: 300, S1: 50}).
                "epochs": Setting(300, per_area(whole(0))),
                # "corrected" or "paper" (see ner_repro.methods.pivae).
                "protocol": Setting("corrected", one_of("corrected", "paper")),
                "early_stopping": Setting(True, boolean),
                "patience": Setting(30, whole(1)),
                # Fraction of the training trials (the last ones) held out for validation.
                "valid_fraction": Setting(0.125, fraction),
                "shuffle": Setting(False, boolean),
                "normalize_labels": Setting(False, boolean),
                "dtype": Setting("float32", one_of("float32", "float64")),
                # Bins per forward pass when embedding (no effect on the result).
                "inference_batch": Setting(4096, whole(1)),
                # torch CPU threads for this run (null: torch's default).
                "num_threads": Setting(None, optional(whole(1))),
                **_CHECKPOINTING,
                # Epochs between checkpoints.
                "checkpoint_every": Setting(10, whole(1)),
                # The fast evaluation of the same model (batched conv stacks, cheap
                # permutations, fused Adam): equal to fast: false up to float rounding.
                "fast": Setting(True, boolean),
            },
            resumable=True,
            gpu=True,
            rotated=True,
        ),
    )
}


def kind_of(name: str) -> Kind:
    """The declaration of kind ``name``; ``KeyError`` listing the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown method kind {name!r}; known: {', '.join(KINDS)}") from None


def method_problems(method: str, entry: Mapping[str, Any]) -> list[str]:
    """What is wrong with the config entry ``methods.<method>``, one ``methods.<method>.key: ...``
    line per problem (an unknown kind, a setting the kind does not accept, a bad value)."""
    kind = entry.get("kind")
    if kind not in KINDS:
        return [f"methods.{method}.kind: unknown method kind {kind!r} (known: {', '.join(KINDS)})"]
    params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
    return [f"methods.{method}.{p}" for p in KINDS[kind].problems(params)]


def check_methods(methods: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` listing every problem of the ``methods`` section of a config."""
    problems = [p for m, entry in methods.items() for p in method_problems(m, entry)]
    if problems:
        raise ValueError("invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))
