"""``ner-embed``: NER on one's own recording -- neural data and continuous labels from files.

::

    ner-embed --neural spikes.npz --labels hand.csv --trial-length 30 --out runs/mine
    ner-embed --data session.mat --neural-key neural --labels-key pos --out runs/mine
    python -m ner_repro.cli.embed --help

Reads the neural data (bins x neurons) and the labels (bins x columns) from ``.npy``,
``.npz``, ``.mat`` (v5 or v7.3) or ``.csv`` files (:mod:`ner_repro.cli.inputs`), splits them in time
(the first ``--train-fraction`` of the trials train, the rest test, as the workflow's sessions
do; without ``--trial-length`` the recording is one block split by bins), fits
:class:`ner_patch.NER` on the training part and writes, into ``--out``:

``embedding.npz``
    The workflow's embedding contract (:class:`~ner_repro.core.embedding.EmbeddingRun`;
    method ``NER``, the labels as given, the input files' checksums in its metadata).
``model.pt``
    The fitted model (``ner_patch.NER.load``).
``loss.pdf``, ``embedding.pdf``
    The loss per iteration; the training embedding's first three dimensions coloured by the
    first label column. Their footers name the input files, the seed and the iterations.
``summary.json``
    Also printed: linear decoding R² from the embedding to every label column, fitted on the
    training part and scored on it (in-sample) and on the test part (held-out); a circular
    column is decoded as the cosine and sine of its angle. The label metric, wall time.

Bad input stops the command before anything is written, with exit code 2 and a message that
names the file (or the option) and what is wrong. The outputs are written into a temporary
folder next to ``--out`` and moved into place when all are complete.

Settings and their defaults: the paper's model (``offset1-model``, ``time_delta`` positives,
time offset 1, batch 512, temperature 1, 3 output dimensions) with 5000 iterations at learning
rate 3e-4 -- the paper trained 20000 iterations at 1e-4 (``--iterations 20000
--learning-rate 1e-4``). At 5000 iterations the two rates gave the same decoding on a real
session (Chewie 20160929 M1, velocity, seed 0: held-out R² 0.773 at 3e-4, 0.770 at 1e-4;
in-sample 0.850 and 0.840); in shorter runs 3e-4 gets further. The labels are read as linear columns unless ``--circular COL:PERIOD``
says otherwise (the paper's ``[vx*10, vy*10, angle_deg]``: ``--circular 2:360``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.analysis.decoding import linear_r2
from ner_repro.cli.inputs import (
    Table,
    check_finite,
    finite_float,
    parse_columns,
    read_arrays,
    read_table,
    select_columns,
    split_columns,
)
from ner_repro.core import atomic, jobs, provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.errors import InputError, OutputError
from ner_repro.methods.kinds import KINDS

__all__ = ["build_parser", "main", "run"]

PROG = "ner-embed"
#: The paper's NER settings (METHODS §3; see docs/sources.md), declared in the kinds table.
_PAPER = KINDS["ner"].defaults
#: The estimator settings that are not options: the paper's.
FIXED_SETTINGS = {
    k: _PAPER[k] for k in ("model_architecture", "conditional", "time_offsets", "distance")
}
#: Option defaults: the paper's, except fewer iterations at a higher learning rate.
DEFAULTS = {
    "iterations": 5000,
    "batch_size": _PAPER["batch_size"],
    "learning_rate": 3e-4,
    "output_dimension": _PAPER["output_dimension"],
    "temperature": _PAPER["temperature"],
    "seed": 0,
    "train_fraction": 0.8,
}
OUTPUTS = ("embedding.npz", "model.pt", "loss.pdf", "embedding.pdf", "summary.json")
CIRCULAR_NOTE = (
    "a circular column is decoded as (cos, sin) of its angle (2*pi*value/period): R² of those two"
)


# -- options -----------------------------------------------------------------------------------
def _whole(minimum: int):
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return check


def _positive(text: str) -> float:
    try:
        value = finite_float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def _fraction(text: str) -> float:
    value = _positive(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command's options (``ner-embed --help``)."""
    d = DEFAULTS
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Fit NER (Neural Embeddings Rank) on your own neural data and continuous labels; "
            "write the embedding, the model, two figures and a decoding summary."
        ),
        epilog=(
            "Files: .npy, .npz (pick an array with --neural-key/--labels-key; default the "
            "only one), .mat v5 or v7.3 (the same keys name variables; struct.field for a field), "
            ".csv (numeric, comma/tab/semicolon separated; a first row with a non-number is "
            "a header of column names). Rows are time bins. Exit code 2: bad input, nothing "
            "written."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    io = parser.add_argument_group("input")
    io.add_argument("--neural", type=Path, metavar="FILE", help="neural data, bins x neurons")
    io.add_argument("--labels", type=Path, metavar="FILE", help="labels, bins x columns")
    io.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="one file holding both (instead of --neural and --labels): .npz/.mat with "
        "--neural-key and --labels-key, or .csv with --label-columns (the other columns "
        "are the neural data)",
    )
    io.add_argument("--neural-key", metavar="KEY", help="array or variable of the neural data")
    io.add_argument("--labels-key", metavar="KEY", help="array or variable of the labels")
    io.add_argument(
        "--label-columns",
        metavar="A,B",
        help="the label columns to use, by name (.csv header) or index (default: all)",
    )
    io.add_argument("--name", help="the recording's name (default: the neural file's stem)")
    split = parser.add_argument_group("train/test split")
    split.add_argument(
        "--trial-length",
        type=_whole(1),
        metavar="N",
        help="bins per trial (rows must be a multiple): the first --train-fraction of the "
        "trials train, the rest test. Without it the recording is one block, split by bins",
    )
    split.add_argument("--train-fraction", type=_fraction, default=d["train_fraction"])
    ner = parser.add_argument_group("NER")
    ner.add_argument(
        "--iterations",
        type=_whole(1),
        default=d["iterations"],
        help="training iterations (the paper: 20000)",
    )
    ner.add_argument(
        "--batch-size",
        type=_whole(2),
        default=d["batch_size"],
        help="bins per batch, capped to the training bins",
    )
    ner.add_argument(
        "--learning-rate",
        type=_positive,
        default=d["learning_rate"],
        help="Adam's learning rate (the paper: 1e-4 with 20000 iterations)",
    )
    ner.add_argument("--output-dimension", type=_whole(1), default=d["output_dimension"])
    ner.add_argument("--temperature", type=_positive, default=d["temperature"])
    ner.add_argument("--seed", type=_whole(0), default=d["seed"])
    ner.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ner.add_argument(
        "--threads", type=_whole(1), metavar="N", help="torch CPU threads (default: torch's)"
    )
    ner.add_argument(
        "--positive-columns",
        metavar="A,B",
        help="label columns of the positive search (default: the columns that are not circular)",
    )
    ner.add_argument(
        "--circular",
        action="append",
        default=[],
        metavar="COL:PERIOD",
        help="a circular label column and its period, e.g. angle:360 (repeatable; default: "
        "none, every column linear)",
    )
    ner.add_argument(
        "--label-weights",
        metavar="W,W",
        help="one weight per label column in the label distance (default: 1 each)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    out.add_argument("--force", action="store_true", help="replace --out if it is not empty")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


# -- inputs --------------------------------------------------------------------------------------
@dataclass
class Inputs:
    neural: Table
    labels: Table
    #: ``{"neural": path, "labels": path}``, or ``{"data": path}`` for one file.
    files: dict[str, Path]


def read_inputs(args: argparse.Namespace) -> Inputs:
    """The neural table and the label table of the options, checked against each other."""
    if args.data is not None:
        if args.neural is not None or args.labels is not None:
            raise InputError("--data", "give either --data or --neural and --labels, not both")
        neural, labels = _read_one_file(args)
        files = {"data": args.data}
    else:
        for option, value in (("--neural", args.neural), ("--labels", args.labels)):
            if value is None:
                raise InputError(option, "required (or --data FILE holding both)")
        neural = read_table(args.neural, args.neural_key, key_option="--neural-key")
        labels = read_table(args.labels, args.labels_key, key_option="--labels-key")
        labels = select_columns(labels, args.label_columns, "--label-columns")
        files = {"neural": args.neural, "labels": args.labels}
    check_finite(neural, "neural data")
    if neural.n_rows != labels.n_rows:
        hint = ""
        if neural.values.shape[1] == labels.n_rows:
            hint = (
                f"; the neural array is {neural.values.shape[0]}x{neural.values.shape[1]}: "
                "if it is neurons x bins, transpose it to bins x neurons"
            )
        raise InputError(
            labels.path,
            f"{labels.n_rows} rows of labels ({labels.source}) but {neural.n_rows} rows of "
            f"neural data ({neural.source}): one row per time bin in both{hint}",
        )
    if neural.n_rows < 4:
        raise InputError(neural.path, f"only {neural.n_rows} rows (time bins)")
    return Inputs(neural, labels, files)


def _read_one_file(args: argparse.Namespace) -> tuple[Table, Table]:
    path = args.data
    if path.suffix.lower() == ".npy":
        raise InputError(path, "--data: a .npy file holds one array; give --neural and --labels")
    if path.suffix.lower() == ".csv":
        for option in ("--neural-key", "--labels-key"):
            if getattr(args, option[2:].replace("-", "_")) is not None:
                raise InputError(
                    option, "a .csv file has no keys: pick labels with --label-columns"
                )
        if args.label_columns is None:
            raise InputError(
                "--label-columns", f"with --data {path}, say which columns are the labels"
            )
        table = read_table(path)
        return split_columns(table, args.label_columns, "--label-columns")
    arrays = read_arrays(path)
    for option, key in (("--neural-key", args.neural_key), ("--labels-key", args.labels_key)):
        if key is None:
            names = ", ".join(arrays) or "none"
            raise InputError(option, f"with --data {path}, name its array (found: {names})")
    neural = read_table(path, args.neural_key, key_option="--neural-key", arrays=arrays)
    labels = read_table(path, args.labels_key, key_option="--labels-key", arrays=arrays)
    return neural, select_columns(labels, args.label_columns, "--label-columns")


# -- split -------------------------------------------------------------------------------------
@dataclass
class Split:
    n_rows: int
    n_train: int
    #: Bins per trial; ``None`` when the recording is one block (the contract's ``t_dur`` is 1).
    trial_length: int | None
    train_fraction: float

    @property
    def t_dur(self) -> int:
        return self.trial_length or 1

    @property
    def n_test(self) -> int:
        return self.n_rows - self.n_train

    def describe(self) -> str:
        f = self.train_fraction
        if self.trial_length is None:
            return (
                f"no --trial-length: the recording is one block of {self.n_rows} bins, split by "
                f"bins: the first {self.n_train} ({f:.0%}) train, the last {self.n_test} test"
            )
        n = self.trial_length
        n_train, n_test = self.n_train // n, self.n_test // n
        return (
            f"{self.n_rows // n} trials of {n} bins: the first {_trials(n_train)} "
            f"({self.n_train} bins, {f:.0%}) train, the last {_trials(n_test)} "
            f"({self.n_test} bins) test"
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": "bins" if self.trial_length is None else "trials",
            "trial_length": self.trial_length,
            "train_fraction": self.train_fraction,
            "n_train_bins": self.n_train,
            "n_test_bins": self.n_test,
            "description": self.describe(),
        }
        if self.trial_length is not None:
            out["n_train_trials"] = self.n_train // self.trial_length
            out["n_test_trials"] = self.n_test // self.trial_length
        return out


def _trials(n: int) -> str:
    return f"{n} trial" if n == 1 else f"{n} trials"


def make_split(inputs: Inputs, trial_length: int | None, fraction: float) -> Split:
    """The time split of the options (:func:`ner_repro.core.session.split_trials` by trial)."""
    from ner_repro.core.session import split_trials

    rows = inputs.neural.n_rows
    if trial_length is None:
        n_train = int(rows * fraction)
        if not 2 <= n_train <= rows - 2:
            raise InputError(
                "--train-fraction", f"{fraction:g} of {rows} bins leaves no training or test part"
            )
        return Split(rows, n_train, None, fraction)
    if rows % trial_length:
        raise InputError(
            inputs.neural.path,
            f"{rows} rows (bins) is not a multiple of --trial-length {trial_length} "
            f"({rows // trial_length} trials and {rows % trial_length} bins left over)",
        )
    n_trials = rows // trial_length
    n_train_trials = split_trials(n_trials, fraction)
    if not 0 < n_train_trials < n_trials:
        raise InputError(
            "--train-fraction",
            f"{n_trials} trial(s) of {trial_length} bins cannot be split into training and test "
            f"trials at {fraction:g}",
        )
    return Split(rows, n_train_trials * trial_length, trial_length, fraction)


# -- the label metric ------------------------------------------------------------------------
_METRIC_OPTIONS = {
    "positive_columns": "--positive-columns",
    "circular_columns": "--circular",
    "label_weights": "--label-weights",
}


def label_metric(args: argparse.Namespace, labels: Table) -> Any:
    """The :class:`ner_patch.labels.LabelMetric` of the options for ``labels``."""
    from ner_patch.labels import resolve

    circular: dict[int, float] = {}
    for spec in args.circular:
        column, sep, period_text = spec.rpartition(":")
        if not sep or not column:
            raise InputError("--circular", f"give COL:PERIOD (e.g. angle:360), got {spec!r}")
        (index,) = parse_columns(labels, column, "--circular")
        try:
            period = finite_float(period_text)
        except ValueError:
            period = -1.0
        if period <= 0:
            raise InputError("--circular", f"the period in {spec!r} must be a number > 0")
        if index in circular:
            raise InputError("--circular", f"column {column!r} is given twice")
        circular[index] = period
    positive = (
        None
        if args.positive_columns is None
        else parse_columns(labels, args.positive_columns, "--positive-columns")
    )
    weights = None
    if args.label_weights is not None:
        try:
            weights = [finite_float(w) for w in args.label_weights.split(",")]
        except ValueError:
            raise InputError(
                "--label-weights", f"give numbers separated by commas, got {args.label_weights!r}"
            ) from None
    try:
        # circular: {} (not None) -- three columns are not taken for the paper's layout.
        return resolve(len(labels.names), positive, circular, weights)
    except ValueError as exc:
        argument, _, problem = str(exc).partition(": ")
        raise InputError(_METRIC_OPTIONS.get(argument, argument), problem or str(exc)) from None


def check_label_values(labels: Table, split: Split) -> None:
    """NER's own check of the labels (:func:`ner_patch.labels.check_labels`), naming the file:
    on the whole recording, then on the training part (a column constant there cannot rank)."""
    from ner_patch.labels import check_labels

    for part, values in (("", labels.values), ("training part: ", labels.values[: split.n_train])):
        try:
            check_labels(values, n_samples=len(values))
        except ValueError as exc:
            raise InputError(labels.path, f"labels: {part}{_strip_y(str(exc))}") from None


def _strip_y(message: str) -> str:
    return message[3:] if message.startswith("y: ") else message


# -- decoding ----------------------------------------------------------------------------------
def decoding_targets(
    labels: np.ndarray, names: Sequence[str], circular: dict[int, float]
) -> tuple[np.ndarray, list[str]]:
    """The label columns as decoding targets: a circular column becomes its cos and sin."""
    columns, target_names = [], []
    for j, name in enumerate(names):
        if j in circular:
            angle = 2 * np.pi * labels[:, j] / circular[j]
            columns += [np.cos(angle), np.sin(angle)]
            target_names += [f"cos({name})", f"sin({name})"]
        else:
            columns.append(labels[:, j])
            target_names.append(str(name))
    return np.stack(columns, axis=1), target_names


# -- the command -------------------------------------------------------------------------------
def check_out(out: Path, force: bool) -> None:
    """Refuse an ``--out`` that is a file, or a folder with something in it (unless ``force``)."""
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(out, "--out: the folder is not empty; choose another or pass --force")
    # Before training, not after: a folder that cannot take the outputs is known now.
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise OutputError(out, f"--out: cannot write in {existing} (read-only or no permission)")
    free = atomic.free_bytes(existing)
    if free is not None and free < atomic.FULL_BELOW_BYTES:
        raise OutputError(out, f"--out: the device holding {existing} is full ({free} bytes free)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything the command does; returns the summary. Raises :class:`InputError` on bad
    input, before anything is written."""
    started = time.perf_counter()
    out = Path(args.out)
    check_out(out, args.force)
    inputs = read_inputs(args)
    split = make_split(inputs, args.trial_length, args.train_fraction)
    metric = label_metric(args, inputs.labels)
    check_label_values(inputs.labels, split)
    device = provenance.resolve_device(args.device)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError("--device", "cuda: no CUDA device is available here")
    name = args.name or next(iter(inputs.files.values())).stem

    neural, labels = inputs.neural, inputs.labels
    x = neural.values.astype(np.float32)
    y = labels.values
    n = split.n_train
    batch_size = min(args.batch_size, n)
    settings = {
        **FIXED_SETTINGS,
        "max_iterations": args.iterations,
        "batch_size": batch_size,
        "learning_rate": args.learning_rate,
        "temperature": args.temperature,
        "output_dimension": args.output_dimension,
        "positive_columns": list(metric.positive_columns),
        "circular_columns": {int(c): float(p) for c, p in metric.circular},
        "label_weights": list(metric.weights),
    }
    checksums = {role: provenance.sha256sum(path) for role, path in inputs.files.items()}
    input_meta = {
        role: {"path": str(path), "sha256": checksums[role]} for role, path in inputs.files.items()
    }
    keys = {"neural": neural.key, "labels": labels.key}

    from ner_patch import NER

    with jobs.limited_threads(args.threads) as threads:  # torch is imported (ner_patch)
        provenance.seed_everything(args.seed)
        model = NER(**settings, device=device, verbose=False)
        fit_started = time.perf_counter()
        _fit(model, x[:n], y[:n].astype(np.float32), args, name)
        fit_time = time.perf_counter() - fit_started
        train = model.transform(x[:n])
        test = model.transform(x[n:])
    loss = np.asarray(model.solver_.history, dtype=np.float64)

    circular = dict(metric.circular)
    targets_train, target_names = decoding_targets(y[:n], labels.names, circular)
    targets_test, _ = decoding_targets(y[n:], labels.names, circular)
    r2_in, r2_out = linear_r2(train, targets_train, test, targets_test)
    wall_time = time.perf_counter() - started

    config = {
        "command": PROG,
        "name": name,
        **settings,
        "batch_size_requested": args.batch_size,
        "seed": args.seed,
        "device_requested": args.device,
        "torch_threads": threads,
        "keys": keys,
        "label_columns": labels.names,
        "split": split.as_dict(),
    }
    summary: dict[str, Any] = {
        "command": PROG,
        "name": name,
        "inputs": {
            **input_meta,
            "neural_source": neural.source,
            "labels_source": labels.source,
        },
        "data": {
            "bins": split.n_rows,
            "neurons": int(x.shape[1]),
            "label_columns": labels.names,
        },
        "split": split.as_dict(),
        "settings": {k: v for k, v in config.items() if k not in ("command", "name", "split")},
        "label_metric": metric.describe(),
        "r2": {
            "decoder": "linear regression from the training embedding to each target",
            "targets": target_names,
            "in_sample": dict(zip(target_names, r2_in.tolist(), strict=True)),
            "held_out": dict(zip(target_names, r2_out.tolist(), strict=True)),
            "in_sample_mean": float(r2_in.mean()),
            "held_out_mean": float(r2_out.mean()),
            "circular": CIRCULAR_NOTE if circular else None,
        },
        "loss": {"name": "RnC", "first": float(loss[0]), "last": float(loss[-1])},
        "fit_time_s": fit_time,
        "wall_time_s": wall_time,
        "device": provenance.device_description(device),
        "out": str(out),
        "outputs": list(OUTPUTS),
    }
    meta = provenance.run_metadata(
        config=config,
        seed=args.seed,
        device=device,
        wall_time_s=wall_time,
        fit_time_s=fit_time,
        n_iterations=args.iterations,
        label_metric=metric.describe(),
        label_names=labels.names,
        r2=summary["r2"],
    )
    meta["inputs"] = input_meta  # with the checksums computed once, above
    record = EmbeddingRun(
        method="NER",
        session=name,
        seed=args.seed,
        train=train,
        test=test,
        labels_train=y[:n],
        labels_test=y[n:],
        t_dur=split.t_dur,
        loss=loss,
        loss_name="RnC",
        extras={"label_names": np.asarray(labels.names, dtype=str)},
        meta=meta,
    )
    _write_outputs(out, model, record, summary, _footer(summary, inputs, split))
    return summary


def _fit(model: Any, x: np.ndarray, y: np.ndarray, args: argparse.Namespace, name: str) -> None:
    from tqdm import tqdm

    bar = None if args.no_progress else tqdm(total=args.iterations, desc=f"NER {name}", unit="it")

    def callback(_: int, solver: Any) -> None:
        bar.set_postfix_str(f"RnC {solver.history[-1]:.4f}", refresh=False)
        bar.update(len(solver.history) - bar.n)

    try:
        model.fit(
            x,
            y,
            callback=None if bar is None else callback,
            callback_frequency=None if bar is None else 1,
        )
    finally:
        if bar is not None:
            bar.close()


def _footer(summary: dict[str, Any], inputs: Inputs, split: Split) -> list[str]:
    s = summary["settings"]
    sha = {role: v["sha256"][:12] for role, v in summary["inputs"].items() if "sha256" in v}
    if "data" in inputs.files:
        files = f"data {inputs.neural.source} and {inputs.labels.source} (sha256 {sha['data']})"
    else:
        files = (
            f"neural {inputs.neural.source} (sha256 {sha['neural']}), "
            f"labels {inputs.labels.source} (sha256 {sha['labels']})"
        )
    return [
        f"NER (ner-embed) on {files}",
        f"{s['max_iterations']} iterations, batch {s['batch_size']}, learning rate "
        f"{s['learning_rate']:g}, temperature {s['temperature']:g}",
        f"split: {split.describe()}",
        summary["label_metric"],
    ]


def _write_outputs(
    out: Path, model: Any, record: EmbeddingRun, summary: dict[str, Any], footer: list[str]
) -> None:
    """Write every output into a new folder next to ``out``, then move it onto ``out``
    (:func:`ner_repro.core.atomic.atomic_dir`: all or nothing)."""
    from ner_repro.cli import figures

    try:
        with atomic.atomic_dir(out) as tmp:
            record.save(tmp / "embedding.npz")
            model.save(str(tmp / "model.pt"))
            names = [str(v) for v in record.extras["label_names"]]
            figures.plot_loss(
                tmp / "loss.pdf",
                record.loss,
                title=f"NER training loss: {record.session}",
                seed=record.seed,
                footer=footer,
            )
            figures.plot_embedding(
                tmp / "embedding.pdf",
                record.train,
                record.labels_train[:, 0],
                colour_name=names[0],
                circular_period=dict(model.label_metric_.circular).get(0),
                title=f"NER embedding (training part): {record.session}",
                seed=record.seed,
                footer=footer,
            )
            atomic.write_text(tmp / "summary.json", json.dumps(summary, indent=2) + "\n")
    except OutputError as exc:
        raise OutputError(out, f"--out: {exc.problem}") from exc


def format_summary(summary: dict[str, Any]) -> str:
    """The printed summary."""
    s, r2 = summary["settings"], summary["r2"]
    data = summary["data"]
    width = max(12, *(len(t) for t in r2["targets"]))
    lines = [
        f"{PROG}: NER embedding of {summary['name']} written to {summary['out']}",
        f"  data: {data['bins']} bins x {data['neurons']} neurons "
        f"({summary['inputs']['neural_source']}); labels: {', '.join(data['label_columns'])} "
        f"({summary['inputs']['labels_source']})",
        f"  split: {summary['split']['description']}",
        f"  label metric: {summary['label_metric']} (columns: "
        + ", ".join(f"{j} {c}" for j, c in enumerate(data["label_columns"]))
        + ")",
        f"  training: {s['max_iterations']} iterations, batch {s['batch_size']}, learning rate "
        f"{s['learning_rate']:g}, temperature {s['temperature']:g}, {s['output_dimension']}-D "
        f"output, seed {s['seed']}, {summary['device']}; final RnC loss "
        f"{summary['loss']['last']:.4f}",
        "  linear decoding R² (fitted on the training embedding):",
        f"    {'target':<{width}}  in-sample  held-out",
    ]
    for target in r2["targets"]:
        lines.append(
            f"    {target:<{width}}  {r2['in_sample'][target]:9.3f}  {r2['held_out'][target]:8.3f}"
        )
    lines.append(f"    {'mean':<{width}}  {r2['in_sample_mean']:9.3f}  {r2['held_out_mean']:8.3f}")
    if r2["circular"]:
        lines.append(f"  {r2['circular']}")
    lines.append(
        f"  wall time: {summary['wall_time_s']:.1f} s (fit {summary['fit_time_s']:.1f} s); "
        f"files: {', '.join(summary['outputs'])}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``ner-embed`` command; returns its exit code (2: bad input or options)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad option (2, message printed by argparse)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        summary = run(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except OutputError as exc:  # nothing is left in --out
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing written", file=sys.stderr)
        return 130
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
