"""The sklearn estimators: :class:`NER` and the reproducible stock CEBRA, :class:`SeededCEBRA`.

Both subclass :class:`cebra.CEBRA` and take exactly its constructor arguments.

* :class:`SeededCEBRA` is stock CEBRA (same loader, solver and loss) whose sampling is
  seeded from torch's global generator (see :mod:`ner_patch.seeding`): with
  ``torch.manual_seed(seed)`` before :meth:`~cebra.CEBRA.fit`, a fit is reproducible.
  It also adds resumable training (:meth:`SeededCEBRA.training_state` and
  ``fit(..., resume=state)``) and :meth:`load` returning its own class.
* :class:`NER` is :class:`SeededCEBRA` with NER's loader (velocity-only ``time_delta``
  positives, labelled batches; :class:`~ner_patch.data.NERDataLoader`) and solver
  (Rank-N-Contrast loss; :class:`~ner_patch.solver.NERSolver`). Fit it like CEBRA, on
  neural data and continuous labels -- the paper's ``(T, 3)`` ``[vx*10, vy*10, angle_deg]``,
  or any ``(T, k)`` (see :class:`NER` for how they are read)::

      torch.manual_seed(0)
      model = NER(batch_size=512, learning_rate=1e-4, output_dimension=3,
                  max_iterations=20000, conditional="time_delta", device="cpu")
      embedding = model.fit(neural, labels).transform(neural)

The hooks overridden here (``_prepare_loader``, ``_prepare_fit``, ``_partial_fit``) are
CEBRA internals; :mod:`ner_patch._compat` pins the CEBRA versions they were checked against.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

import cebra
import cebra.data
import cebra.solver
import numpy as np
import scipy.sparse
import torch

from ner_patch.data import NERDataLoader, Search, make_index, resolve_search
from ner_patch.labels import LabelMetric, check_labels, check_rankable
from ner_patch.labels import resolve as resolve_metric
from ner_patch.seeding import loader_rng_state, seed_loader_from_torch, set_loader_rng_state
from ner_patch.solver import SOLVER_NAME

__all__ = ["NER", "SeededCEBRA"]

Callback = Callable[[int, cebra.solver.Solver], None]

#: Keys of the dictionary returned by :meth:`SeededCEBRA.training_state`.
TRAINING_STATE_KEYS = (
    "solver",
    "loader_rng",
    "torch_rng",
    "step",
    "max_iterations",
    "estimator",
    "cebra",
)


class SeededCEBRA(cebra.CEBRA):
    """Stock CEBRA, reproducible under ``torch.manual_seed`` and resumable.

    Differences from :class:`cebra.CEBRA`, none of which changes the algorithm:

    * the loader's distributions are seeded from torch's global generator;
    * one more argument, ``search`` (:data:`ner_patch.data.Search`): the nearest-neighbour
      search of the ``time_delta`` positives. ``"auto"`` (default) is
      :class:`~ner_patch.data.ExactIndex` on the CPU -- the index CEBRA's brute force
      returns, bit for bit, several times faster -- and CEBRA's own brute force on CUDA;
      ``"brute"`` forces CEBRA's. It changes the time of a fit, not its result (the
      ``"kdtree"`` choice, the float64 nearest neighbour, is the exception: it may pick
      other positives where float32 rounding decides);
    * ``fit(..., resume=state)`` continues a fit from :meth:`training_state`;
    * :meth:`load` returns an instance of this class.
    """

    def __init__(self, *args: Any, search: Search = "auto", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search = search

    # sklearn's get_params/clone read the parameters from the signature: CEBRA's and ``search``.
    __init__.__signature__ = inspect.signature(cebra.CEBRA.__init__).replace(  # type: ignore[attr-defined]
        parameters=[
            *inspect.signature(cebra.CEBRA.__init__).parameters.values(),
            inspect.Parameter("search", inspect.Parameter.KEYWORD_ONLY, default="auto"),
        ]
    )

    # -- hooks ------------------------------------------------------------------------
    def _prepare_loader(
        self, dataset: cebra.data.Dataset, max_iterations: int, is_multisession: bool
    ) -> tuple[cebra.data.Loader, str]:
        loader, solver_name = super()._prepare_loader(dataset, max_iterations, is_multisession)
        self._set_search(loader)
        seed_loader_from_torch(loader)
        return loader, solver_name

    def _set_search(self, loader: cebra.data.Loader) -> None:
        """Give the loader's ``time_delta`` distribution the index of ``search``."""
        distribution = getattr(loader, "distribution", None)
        index = getattr(distribution, "index", None)
        if not isinstance(index, cebra.distributions.ContinuousIndex):
            return  # other samplers (discrete, time, multi-session) search nothing
        search = resolve_search(self.search, loader.device)
        if search != "brute":
            distribution.index = make_index(index.dist_matrix.index, search, loader.device)

    def _get_state_dict(self) -> dict[str, Any]:
        # ``search`` only changes how a fit runs; leave it out so that stock
        # cebra.CEBRA.load reads the file.
        state = super()._get_state_dict()
        state["args"] = {k: v for k, v in state["args"].items() if k != "search"}
        return state

    # -- resumable training -----------------------------------------------------------
    def fit(
        self,
        X: Any,
        *y: Any,
        adapt: bool = False,
        callback: Callback | None = None,
        callback_frequency: int | None = None,
        resume: dict[str, Any] | None = None,
    ) -> SeededCEBRA:
        """Fit as :meth:`cebra.CEBRA.fit`; with ``resume``, continue the interrupted fit it describes.

        Args:
            X, y, adapt, callback, callback_frequency: As in :meth:`cebra.CEBRA.fit`.
            resume: A :meth:`training_state` taken during an earlier fit of an estimator
                with the same parameters on the same data. Training restarts after its
                last step with the saved model, optimizer, loss history and random-number
                state, and runs the remaining ``max_iterations - state["step"]`` steps;
                on CPU the result is bit-identical to an uninterrupted fit. Prepare the
                estimator exactly as for the original fit (same parameters, and the same
                ``torch.manual_seed`` before calling ``fit``).
        """
        if resume is None:
            return super().fit(
                X, *y, adapt=adapt, callback=callback, callback_frequency=callback_frequency
            )
        if adapt:
            raise ValueError("resume cannot be combined with adapt=True")
        self._check_resume_state(resume)
        self.state_ = self._prepare_fit(X, *y)
        solver, _, loader, _ = self.state_
        solver.load_state_dict(copy.deepcopy(resume["solver"]), strict=True)
        set_loader_rng_state(loader, resume["loader_rng"])
        torch.set_rng_state(resume["torch_rng"])
        loader.num_steps = self.max_iterations - int(resume["step"])
        self._partial_fit(*self.state_, callback=callback, callback_frequency=callback_frequency)
        del self.state_
        return self

    def training_state(self) -> dict[str, Any]:
        """A deep copy of everything needed to resume the fit in progress.

        Call it from a ``fit`` callback. The result holds the solver's state dict (model,
        optimizer, criterion, loss history and logs), the loader's generator states,
        torch's global generator state and the number of steps done (``"step"``); it can
        be stored with :func:`torch.save` and loaded with ``torch.load(weights_only=True)``.
        """
        state = getattr(self, "state_", None)
        if state is None:
            raise RuntimeError(
                "training_state() describes a fit in progress; call it from a fit callback"
            )
        solver, _, loader, _ = state
        return {
            "solver": copy.deepcopy(solver.state_dict()),
            "loader_rng": loader_rng_state(loader),
            "torch_rng": torch.get_rng_state(),
            "step": len(solver.history),
            "max_iterations": int(self.max_iterations),
            "estimator": type(self).__name__,
            "cebra": cebra.__version__,
        }

    def _check_resume_state(self, resume: dict[str, Any]) -> None:
        missing = [key for key in TRAINING_STATE_KEYS if key not in resume]
        if missing:
            raise ValueError(f"not a training state: missing key(s) {', '.join(missing)}")
        if resume["estimator"] != type(self).__name__:
            raise ValueError(
                f"training state is from a {resume['estimator']} fit, not {type(self).__name__}"
            )
        step = int(resume["step"])
        if not 0 < step <= self.max_iterations:
            raise ValueError(
                f"training state is at step {step}, outside 1..max_iterations={self.max_iterations}"
            )

    # -- persistence --------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        filename: str | os.PathLike[str],
        backend: str = "auto",
        weights_only: bool | None = None,
        **kwargs: Any,
    ) -> SeededCEBRA:
        """Load a model saved with :meth:`~cebra.CEBRA.save`, as an instance of this class."""
        loaded = cebra.CEBRA.load(filename, backend=backend, weights_only=weights_only, **kwargs)
        cls._check_solver_name(loaded.solver_name_, filename)
        params = loaded.get_params()
        params.update(cls._own_params(loaded))
        model = cls(**params)
        for key, value in vars(loaded).items():
            if key not in params and key != "self":
                setattr(model, key, value)
        model._after_load()
        return model

    def _after_load(self) -> None:
        """Turn what :meth:`load` copied from the file into this class's attributes."""

    @classmethod
    def _own_params(cls, loaded: cebra.CEBRA) -> dict[str, Any]:
        """Arguments of this class that the file holds beyond CEBRA's."""
        return {}

    @classmethod
    def _check_solver_name(cls, solver_name: str, filename: str | os.PathLike[str]) -> None:
        if solver_name == SOLVER_NAME:
            raise ValueError(f"{filename} holds an NER model; load it with ner_patch.NER.load")


#: NER's arguments beyond :class:`SeededCEBRA`'s, with their defaults.
NER_ARGUMENTS: dict[str, Any] = {
    "log_infonce": False,
    "positive_columns": None,
    "circular_columns": None,
    "label_weights": None,
}


class NER(SeededCEBRA):
    """Neural Embeddings Rank: CEBRA trained on the Rank-N-Contrast loss (METHODS §3; see
    ``docs/sources.md``).

    Takes :class:`cebra.CEBRA`'s constructor arguments. Supported configuration:
    single session, mini-batches (``batch_size`` set), ``conditional="time_delta"`` (or
    ``None``, CEBRA's default for continuous labels), fixed temperature, no hybrid
    training, and exactly one continuous label array ``y`` of shape ``(T, k)`` (or
    ``(T,)``). ``temperature`` is used by the NER loss (the authors hard-coded 1, which is
    also the paper's setting); ``distance`` and ``criterion`` only configure the InfoNCE
    statistics that are logged, not trained on, and only with ``log_infonce=True``.

    How the labels are read (:mod:`ner_patch.labels`; the fitted :attr:`label_metric_`
    says what a fit used):

    ``positive_columns``
        Columns of the ``time_delta`` positive search (default: every column that is not
        circular; for the paper's labels the two velocities).
    ``circular_columns``
        ``{column: period}`` of circular columns (angles: period 360), measured around
        the circle. Default: none, except for labels of exactly three columns, which are
        read as the paper's ``[vx*10, vy*10, angle_deg]`` (``{2: 360}``); pass ``{}`` for
        three columns that are something else.
    ``label_weights``
        One weight per column in the label distance ``sum_c w_c d_c`` (default 1).

    With the defaults and the paper's labels, NER is the paper's method, bit for bit.
    Labels that cannot be ranked (NaN, a length other than ``X``'s, non-numeric, or every
    used column constant) are refused with an error naming ``y`` or the argument; a single
    constant column only draws a warning (it adds nothing to the ranking).

    ``log_infonce`` (default ``False``): ``True`` also embeds each batch's negatives and
    logs CEBRA's InfoNCE terms in ``solver_.log["pos"]``/``["neg"]``, as the authors'
    patch did; that costs about a tenth of a CPU step and leaves the model and the
    embedding unchanged, bit for bit.

    A fitted model is saved with :meth:`~cebra.CEBRA.save` and read back with
    :meth:`NER.load` (every argument included; ``transform`` gives the same bits on the
    CPU). Stock ``cebra.CEBRA.load`` reads the file too.
    """

    def __init__(
        self,
        *args: Any,
        search: Search = "auto",
        log_infonce: bool = False,
        positive_columns: Any = None,
        circular_columns: Any = None,
        label_weights: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, search=search, **kwargs)
        self.log_infonce = log_infonce
        self.positive_columns = positive_columns
        self.circular_columns = circular_columns
        self.label_weights = label_weights

    __init__.__signature__ = inspect.signature(SeededCEBRA.__init__).replace(  # type: ignore[attr-defined]
        parameters=[
            *inspect.signature(SeededCEBRA.__init__).parameters.values(),
            *(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
                for name, default in NER_ARGUMENTS.items()
            ),
        ]
    )

    def _checked_labels(self, X: Any, y: tuple[Any, ...]) -> np.ndarray:
        """The one label array, checked (:func:`ner_patch.labels.check_labels`), with the
        label metric it implies (``label_metric_``)."""
        _refuse_sparse(X)
        if len(y) != 1:
            raise ValueError(
                f"y: NER takes exactly one continuous label array, got {len(y)} label arrays"
            )
        labels = check_labels(y[0], n_samples=_n_samples(X))
        self.label_metric_ = resolve_metric(
            labels.shape[1], self.positive_columns, self.circular_columns, self.label_weights
        )
        check_rankable(labels, self.label_metric_)
        return labels

    def _check_n_features(self, X: Any) -> None:
        """A fitted model refuses data with another number of features, in scikit-learn's
        words (stock CEBRA does not check, and fails deep inside torch)."""
        _refuse_sparse(X)
        expected = getattr(self, "n_features_in_", None)
        shape = getattr(X, "shape", None)
        if shape is None:
            shape = np.asarray(X).shape
        if expected is not None and len(shape) == 2 and shape[1] != expected:
            raise ValueError(
                f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                f"{expected} features as input"
            )

    def fit(self, X: Any, *y: Any, **kwargs: Any) -> NER:
        """Fit as :meth:`SeededCEBRA.fit` on neural data ``X`` and one label array ``y``
        (checked first: :func:`ner_patch.labels.check_labels`)."""
        labels = self._checked_labels(X, y)
        super().fit(X, labels, **kwargs)
        return self

    def partial_fit(self, X: Any, *y: Any, **kwargs: Any) -> NER:
        """Go on training (as :meth:`cebra.CEBRA.partial_fit`) on ``X`` and one label array
        ``y``, checked as by :meth:`fit`."""
        if hasattr(self, "state_"):
            self._check_n_features(X)
        labels = self._checked_labels(X, y)
        super().partial_fit(X, labels, **kwargs)
        return self

    def transform(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        """Embed ``X`` (as :meth:`cebra.CEBRA.transform`), which must have the number of
        features the model was fitted on."""
        self._check_n_features(X)
        return super().transform(X, *args, **kwargs)

    def _prepare_fit(self, X: Any, *y: Any) -> Any:
        solver, model, loader, is_multisession = super()._prepare_fit(X, *y)
        solver.log_infonce = bool(self.log_infonce)
        solver.label_metric = self.label_metric_
        return solver, model, loader, is_multisession

    def _get_state(self) -> dict[str, Any]:
        # NER's own arguments travel in the state (which stock cebra.CEBRA.load sets as
        # attributes), not in the args (which it passes to cebra.CEBRA()).
        state = super()._get_state()
        state["ner_params_"] = {k: getattr(self, k) for k in NER_ARGUMENTS}
        state["label_metric_"] = dataclasses.asdict(self.label_metric_)
        return state

    def _after_load(self) -> None:
        metric = getattr(self, "label_metric_", None)
        if isinstance(metric, dict):  # as saved by _get_state
            self.label_metric_ = LabelMetric(
                int(metric["n_columns"]),
                tuple(metric["positive_columns"]),
                tuple((int(c), float(p)) for c, p in metric["circular"]),
                tuple(metric["weights"]),
            )

    def _get_state_dict(self) -> dict[str, Any]:
        state = super()._get_state_dict()
        state["args"] = {k: v for k, v in state["args"].items() if k not in NER_ARGUMENTS}
        return state

    def _prepare_loader(
        self, dataset: cebra.data.Dataset, max_iterations: int, is_multisession: bool
    ) -> tuple[cebra.data.Loader, str]:
        if is_multisession:
            raise NotImplementedError("NER supports single-session training only")
        if self.hybrid:
            raise NotImplementedError("NER does not support hybrid training")
        if self.batch_size is None:
            raise NotImplementedError("NER needs mini-batches: set batch_size")
        if self.temperature_mode != "constant":
            raise ValueError("NER uses a fixed temperature: set temperature_mode='constant'")
        if dataset.discrete_index is not None:
            raise ValueError("NER takes one continuous label array, not a discrete index")
        conditional = "time_delta" if self.conditional is None else self.conditional
        loader = NERDataLoader(
            dataset=dataset,
            batch_size=self.batch_size,
            num_steps=max_iterations,
            time_offset=_single_offset(self.time_offsets),
            conditional=conditional,
            search=self.search,
            label_metric=self.label_metric_,
        )
        return loader, SOLVER_NAME

    @classmethod
    def _own_params(cls, loaded: cebra.CEBRA) -> dict[str, Any]:
        own = getattr(loaded, "ner_params_", None) or {}
        return {k: own[k] for k in NER_ARGUMENTS if k in own}

    @classmethod
    def _check_solver_name(cls, solver_name: str, filename: str | os.PathLike[str]) -> None:
        if solver_name != SOLVER_NAME:
            raise ValueError(f"{filename} holds a {solver_name!r} CEBRA model, not an NER model")


def _n_samples(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.asarray(X).shape
    return int(shape[0]) if len(shape) else 0


def _refuse_sparse(X: Any) -> None:
    if scipy.sparse.issparse(X):
        raise TypeError(
            f"X: sparse input ({type(X).__name__}) is not supported: NER trains on dense "
            "arrays; pass X.toarray()"
        )


def _single_offset(time_offsets: int | Iterable[int]) -> int:
    if isinstance(time_offsets, Iterable):
        offsets = list(time_offsets)
        if len(offsets) != 1:
            raise NotImplementedError(f"NER supports a single time offset, got {offsets}")
        time_offsets = offsets[0]
    return int(time_offsets)
