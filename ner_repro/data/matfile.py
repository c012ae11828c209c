"""MATLAB containers: v5 (read by :mod:`scipy.io`) and v7.3 (HDF5, read by :mod:`h5py`).

:func:`load_mat` returns the top-level variables as plain Python/NumPy values,
whatever the container:

* numeric and logical arrays -> :class:`numpy.ndarray` in MATLAB's orientation
  (v7.3 stores arrays transposed; they are transposed back here);
* char arrays -> :class:`str`;
* struct arrays (e.g. TrialData's ``trial_data``) -> a list of ``dict`` (one per
  element, in MATLAB's linear order), a scalar struct -> one ``dict``;
* cell arrays -> a list.

:func:`save_mat73` writes the same kinds of values as a MATLAB v7.3 file (used by
the tests to convert real v5 files, and available to users who need HDF5 files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.io

from ner_repro.core import atomic
from ner_repro.core.errors import InputError

_MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: ner_repro HDF5 schema 1.00 ."
_MAT5_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: ner_repro"


def container_of(path: str | os.PathLike[str]) -> str:
    """``"v7.3"`` for HDF5-based MAT files, ``"v5"`` otherwise (raises on unreadable files)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    if path.stat().st_size < 128:
        raise InputError(
            path, f"file is truncated or not a MATLAB file ({path.stat().st_size} bytes)"
        )
    return "v7.3" if h5py.is_hdf5(path) else "v5"


def load_mat(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """Read all top-level variables of a MAT file. Returns ``(variables, container)``."""
    container = container_of(path)
    try:
        if container == "v7.3":
            with h5py.File(path, "r") as fh:
                variables = {
                    name: _h5_value(fh, fh[name]) for name in fh if not name.startswith("#")
                }
        else:
            raw = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True, mat_dtype=False)
            variables = {k: _v5_value(v) for k, v in raw.items() if not k.startswith("__")}
    except InputError:
        raise
    except Exception as exc:  # scipy/h5py raise many types on damaged files
        raise InputError(
            path,
            f"cannot read MATLAB {container} file: truncated or corrupt ({type(exc).__name__}: {exc})",
        ) from exc
    return variables, container


# -- v5 -------------------------------------------------------------------------------
def _v5_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.names:  # struct array
            elements = [
                {name: _v5_value(el[name]) for name in value.dtype.names}
                for el in value.reshape(-1, order="F")
            ]
            return elements[0] if value.size == 1 else elements
        if value.dtype == object:  # cell array
            return [_v5_value(el) for el in value.reshape(-1, order="F")]
        if value.dtype.kind == "U":
            return "".join(value.reshape(-1).tolist())
        return value
    return value


# -- v7.3 -----------------------------------------------------------------------------
def _h5_value(fh: h5py.File, node: h5py.Dataset | h5py.Group) -> Any:
    matlab_class = node.attrs.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    if isinstance(node, h5py.Group):
        if matlab_class not in ("struct", ""):
            raise ValueError(f"unsupported MATLAB class {matlab_class!r} for group {node.name}")
        fields = [k for k in node if not k.startswith("#")]
        values = {k: node[k] for k in fields}
        # A struct array stores each field as an array of object references.
        ref_fields = [
            isinstance(v, h5py.Dataset) and v.dtype == h5py.ref_dtype for v in values.values()
        ]
        if fields and all(ref_fields):
            refs = {k: np.asarray(v[()]).T for k, v in values.items()}
            shape = next(iter(refs.values())).shape
            n = int(np.prod(shape))
            return [
                {k: _h5_value(fh, fh[r.reshape(-1, order="F")[i]]) for k, r in refs.items()}
                for i in range(n)
            ]
        return {k: _h5_value(fh, v) for k, v in values.items()}
    # Dataset
    if node.attrs.get("MATLAB_empty", 0):
        return "" if matlab_class == "char" else np.zeros((0, 0))
    data = node[()]
    if node.dtype == h5py.ref_dtype:  # cell array
        arr = np.asarray(data).T
        return [_h5_value(fh, fh[r]) for r in arr.reshape(-1, order="F")]
    arr = np.asarray(data)
    if arr.ndim >= 2:
        arr = arr.T
    if matlab_class == "char":
        return "".join(chr(c) for c in arr.reshape(-1, order="F"))
    if matlab_class == "logical":
        return arr.astype(bool)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(1, -1)
    return arr


_CLASS_OF = {
    np.dtype(np.float64): "double",
    np.dtype(np.float32): "single",
    np.dtype(np.int8): "int8",
    np.dtype(np.int16): "int16",
    np.dtype(np.int32): "int32",
    np.dtype(np.int64): "int64",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.uint16): "uint16",
    np.dtype(np.uint32): "uint32",
    np.dtype(np.uint64): "uint64",
    np.dtype(np.bool_): "logical",
}


def save_mat73(path: str | os.PathLike[str], variables: Mapping[str, Any]) -> Path:
    """Write ``variables`` as a MATLAB v7.3 (HDF5) file, atomically.

    Accepts numeric/logical arrays (at least 2-D after promotion, MATLAB style),
    strings, dicts (scalar structs) and lists of dicts with equal keys (struct arrays).
    """
    with atomic.atomic_path(path, suffix=".mat") as tmp:
        with h5py.File(tmp, "w", userblock_size=512) as fh:
            refs = fh.create_group("#refs#")
            counter = [0]
            for name, value in variables.items():
                _h5_write(fh, refs, counter, name, value)
        with open(tmp, "r+b") as raw:
            header = _MAT73_HEADER.ljust(116, b" ")
            raw.write(header + b"\x00" * 8 + b"\x00\x02" + b"IM")
    return Path(path)


def _h5_write(
    parent: h5py.Group, refs: h5py.Group, counter: list[int], name: str, value: Any
) -> h5py.Dataset | h5py.Group:
    if isinstance(value, str):
        codes = np.array([ord(c) for c in value], dtype=np.uint16).reshape(1, -1)
        if codes.size == 0:
            ds = parent.create_dataset(name, data=np.zeros(2, dtype=np.uint64), track_times=False)
            ds.attrs["MATLAB_empty"] = np.uint8(1)
        else:
            ds = parent.create_dataset(name, data=codes.T, track_times=False)
        ds.attrs["MATLAB_class"] = np.bytes_("char")
        return ds
    if isinstance(value, Mapping):
        grp = parent.create_group(name)
        grp.attrs["MATLAB_class"] = np.bytes_("struct")
        for key, val in value.items():
            _h5_write(grp, refs, counter, key, val)
        return grp
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        grp = parent.create_group(name)
        grp.attrs["MATLAB_class"] = np.bytes_("struct")
        keys = list(value[0].keys())
        for key in keys:
            ref_list = []
            for element in value:
                counter[0] += 1
                target = _h5_write(refs, refs, counter, f"r{counter[0]}", element[key])
                ref_list.append(target.ref)
            data = np.array(ref_list, dtype=h5py.ref_dtype).reshape(
                -1, 1
            )  # MATLAB 1xN, stored transposed
            grp.create_dataset(key, data=data, dtype=h5py.ref_dtype, track_times=False)
        return grp
    arr = np.asarray(value)
    if arr.dtype not in _CLASS_OF:
        raise TypeError(f"cannot write {name!r} of dtype {arr.dtype} to a MAT file")
    if arr.ndim < 2:
        arr = arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(1, 1)
    store = arr.astype(np.uint8) if arr.dtype == np.bool_ else arr
    ds = parent.create_dataset(name, data=store.T, track_times=False)
    ds.attrs["MATLAB_class"] = np.bytes_(_CLASS_OF[arr.dtype])
    if arr.dtype == np.bool_:
        ds.attrs["MATLAB_int_decode"] = np.int32(1)
    return ds


def save_mat5(path: str | os.PathLike[str], variables: Mapping[str, Any]) -> Path:
    """Write ``variables`` as a MATLAB v5 file, atomically (struct arrays from lists of dicts)."""
    converted: dict[str, Any] = {}
    for name, value in variables.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            keys = list(value[0].keys())
            arr = np.empty((1, len(value)), dtype=[(k, object) for k in keys])
            for i, element in enumerate(value):
                for k in keys:
                    arr[0, i][k] = element[k]
            converted[name] = arr
        else:
            converted[name] = value
    with atomic.atomic_path(path, suffix=".mat") as tmp:
        scipy.io.savemat(tmp, converted, do_compression=True, oned_as="column")
        # scipy writes the creation time into the 116-byte text header; a fixed header
        # makes the same variables give the same bytes (reproducible checksums).
        with open(tmp, "r+b") as raw:
            raw.write(_MAT5_HEADER.ljust(116, b" "))
    return Path(path)
