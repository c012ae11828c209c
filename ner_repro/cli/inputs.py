"""A user's arrays from ``.npy``, ``.npz``, ``.mat`` (v5 or v7.3) and ``.csv`` files, checked.

Every problem raises :class:`~ner_repro.core.errors.InputError` naming the file (or the
option) and what is wrong with it:

* ``.npy`` -- its array;
* ``.npz`` -- one array, picked by key (``key=None``: the file's only numeric array);
* ``.mat`` -- one numeric variable, picked by name like an ``.npz`` key; a field of a scalar
  struct is ``struct.field``; a MATLAB row vector ``(1, T)`` is read as one column ``(T, 1)``;
* ``.csv`` -- a numeric table (comma, tab or semicolon separated) whose first row is taken as
  a header of column names when any of its fields is not a number.

The result is a :class:`Table`: a ``(T, k)`` float64 array (rows are time bins) and a name
per column, from which columns are picked by name or index (:func:`select_columns`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core import atomic
from ner_repro.core.errors import InputError

__all__ = ["SUFFIXES", "Table", "read_arrays", "read_table", "select_columns", "split_columns"]

#: The file types read, by suffix.
SUFFIXES = (".npy", ".npz", ".mat", ".csv")


@dataclass
class Table:
    """Columns of numbers, one row per time bin, and where they came from."""

    values: np.ndarray
    names: list[str]
    path: Path
    #: The ``.npz`` key or MATLAB variable read (``None`` for a ``.npy`` or ``.csv`` file).
    key: str | None = None
    #: Whether the column names came from the file (a ``.csv`` header).
    named: bool = False
    #: The indices of the columns kept, in the file's table.
    columns: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = list(range(self.values.shape[1]))

    @property
    def source(self) -> str:
        """``path`` or ``path[key]``."""
        return str(self.path) if self.key is None else f"{self.path}[{self.key}]"

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    def take(self, indices: Sequence[int]) -> Table:
        """This table with only the columns ``indices`` (positions in it), in that order."""
        return Table(
            self.values[:, indices],
            [self.names[i] for i in indices],
            self.path,
            self.key,
            self.named,
            [self.columns[i] for i in indices],
        )


def _shape(arr: np.ndarray) -> str:
    return "x".join(map(str, arr.shape)) or "scalar"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "not a file")
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(
            path,
            f"unknown file type {path.suffix or '(no suffix)'!r}: give a .npy, .npz, .mat or "
            ".csv file",
        )


# -- .npz and .mat: named arrays ---------------------------------------------------------------
def read_arrays(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Every variable of an ``.npz`` or ``.mat`` file by name (scalar-struct fields as
    ``struct.field``); values that are not arrays of numbers are kept, to be named in errors."""
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return dict(atomic.load_npz(path, what="an .npz file of arrays"))
    if suffix == ".mat":
        from ner_repro.data.matfile import load_mat

        variables, _ = load_mat(path)
        out: dict[str, Any] = {}
        _flatten(variables, "", out)
        return out
    raise InputError(path, f"a {suffix} file holds one table, not named arrays")


def _flatten(variables: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for name, value in variables.items():
        if isinstance(value, Mapping):
            _flatten(value, f"{prefix}{name}.", out)
        else:
            out[prefix + name] = value


def _is_numeric(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size > 0


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {_shape(value)} array of {value.dtype}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a struct or cell array"
    return f"a {type(value).__name__}"


def _listing(arrays: Mapping[str, Any]) -> str:
    numeric = [f"{k} ({_shape(v)})" for k, v in arrays.items() if _is_numeric(v)]
    other = [k for k, v in arrays.items() if not _is_numeric(v)]
    text = ", ".join(numeric) if numeric else "no numeric arrays"
    if other:
        text += f"; not numeric: {', '.join(other)}"
    return text


def pick_array(
    path: Path, arrays: Mapping[str, Any], key: str | None, key_option: str
) -> tuple[str, np.ndarray]:
    """The array of ``key`` (``None``: the only numeric one) among ``arrays`` read from ``path``."""
    if key is None:
        numeric = [k for k, v in arrays.items() if _is_numeric(v)]
        if len(numeric) == 1:
            key = numeric[0]
        elif not numeric:
            raise InputError(path, f"holds no numeric array (found: {_listing(arrays) or 'none'})")
        else:
            raise InputError(
                path,
                f"holds {len(numeric)} numeric arrays; pick one with {key_option} "
                f"(found: {_listing(arrays)})",
            )
    if key not in arrays:
        raise InputError(path, f"no array {key!r} ({key_option}); found: {_listing(arrays)}")
    value = arrays[key]
    if not _is_numeric(value):
        raise InputError(path, f"{key!r} is {_kind(value)}, not an array of numbers")
    return key, value


def _as_columns(path: Path, key: str, arr: np.ndarray, matlab: bool) -> np.ndarray:
    if arr.ndim == 1:
        arr = arr[:, None]
    elif matlab and arr.ndim == 2 and arr.shape[0] == 1 and arr.shape[1] > 1:
        arr = arr.T  # a MATLAB row vector: one value per bin
    if arr.ndim != 2:
        raise InputError(
            path, f"{key!r} is {arr.ndim}-D ({_shape(arr)}); give a 2-D array, bins x columns"
        )
    return arr.astype(np.float64)


# -- .csv: a table -----------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> tuple[np.ndarray, list[str], bool]:
    import pandas as pd

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = next((line for line in fh if line.strip()), None)
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a text (CSV) file ({exc})") from None
    if first is None:
        raise InputError(path, "empty file")
    sep = next((s for s in (",", "\t", ";") if s in first), ",")
    fields = [f.strip().strip('"').strip() for f in first.rstrip("\r\n").split(sep)]
    header = any(f and not _is_number(f) for f in fields)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(path, f"cannot read as a CSV table ({exc})") from None
    if frame.shape[0] == 0:
        raise InputError(path, "no data rows" + (" (only a header)" if header else ""))
    names = [str(c).strip() for c in frame.columns] if header else []
    names = names or [f"col{j}" for j in range(frame.shape[1])]
    values = np.empty(frame.shape, dtype=np.float64)
    for j, column in enumerate(frame.columns):
        text = frame[column].fillna("").astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        bad = numbers.isna().to_numpy() & ~text.str.lower().isin(("nan",)).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                path,
                f"not a numeric table: data row {i + 1}, column {names[j]!r}: "
                f"{text.iloc[i]!r} is not a number",
            )
        values[:, j] = numbers.to_numpy(dtype=np.float64)
    return values, names, header


# -- the table of a file -----------------------------------------------------------------------
def read_table(
    path: str | os.PathLike[str],
    key: str | None = None,
    *,
    key_option: str = "--neural-key",
    arrays: Mapping[str, Any] | None = None,
) -> Table:
    """The table of ``path``: an ``.npz`` array or MATLAB variable (``key``; see
    :func:`pick_array`), or a ``.csv`` table. ``arrays``: the file's :func:`read_arrays`,
    when already read."""
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".npy") and key is not None:
        raise InputError(path, f"{key_option}: a {suffix} file has no keys; drop {key_option}")
    if suffix == ".csv":
        values, names, named = _read_csv(path)
        return Table(values, names, path, None, named)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(path, f"cannot read as a .npy array ({exc})") from None
        if not _is_numeric(arr):
            raise InputError(path, f"holds {_kind(arr)}, not an array of numbers")
        values = _as_columns(path, path.stem, arr, matlab=False)
        names = [f"col{j}" for j in range(values.shape[1])]
        return Table(values, names, path, None)
    arrays = read_arrays(path) if arrays is None else arrays
    key, arr = pick_array(path, arrays, key, key_option)
    values = _as_columns(path, key, arr, matlab=path.suffix.lower() == ".mat")
    names = [key] if values.shape[1] == 1 else [f"{key}[{j}]" for j in range(values.shape[1])]
    return Table(values, names, path, key)


def _column_index(table: Table, token: str, option: str) -> int:
    if token in table.names:
        return table.names.index(token)
    try:
        index = int(token)
    except ValueError:
        index = None
    if index is None or not 0 <= index < len(table.names):
        what = f"columns 0..{len(table.names) - 1}"
        if table.named:
            what += f": {', '.join(table.names)}"
        raise InputError(option, f"no column {token!r} in {table.source} ({what})")
    return index


def parse_columns(table: Table, spec: str, option: str) -> list[int]:
    """Column indices of ``table`` from ``spec`` (``"a,b"`` or ``"0,2"``: names or indices)."""
    tokens = [t.strip() for t in spec.split(",")]
    if not spec.strip() or any(not t for t in tokens):
        raise InputError(option, f"give column names or indices separated by commas, got {spec!r}")
    indices = [_column_index(table, t, option) for t in tokens]
    if len(set(indices)) != len(indices):
        raise InputError(option, f"a column is given twice ({spec!r})")
    return indices


def select_columns(table: Table, spec: str | None, option: str) -> Table:
    """``table`` with only the columns of ``spec`` (:func:`parse_columns`; ``None``: all)."""
    if spec is None:
        return table
    return table.take(parse_columns(table, spec, option))


def split_columns(table: Table, spec: str, option: str) -> tuple[Table, Table]:
    """``(rest, picked)``: the columns not in ``spec``, and those in it (one table, two parts)."""
    picked = parse_columns(table, spec, option)
    rest = [i for i in range(len(table.names)) if i not in picked]
    if not rest:
        raise InputError(option, f"every column of {table.source} is a label: no neural columns")
    return table.take(rest), table.take(picked)


def check_finite(table: Table, what: str) -> None:
    """Refuse NaN or infinite values in ``table`` (of ``what``, e.g. "neural data")."""
    bad = ~np.isfinite(table.values)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, col])
        raise InputError(
            table.path,
            f"{what}: column {table.names[col]!r} has {len(rows)} NaN or infinite value(s) "
            f"(first at row {rows[0]}); drop or fill those bins",
        )


def finite_float(value: str) -> float:
    """``float(value)`` if finite, else ``ValueError`` (for option parsing)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number
