"""All-or-nothing output files, and the checked reading of ``.npz`` files.

Every output of the pipeline is written to a temporary file in the target's
directory and renamed into place only when complete, so an interrupted job or
a failed check never leaves a half-written file that a later run would trust.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core.errors import InputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched
    (and absent if it did not exist before).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f"{suffix}.part", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file private (0600); give it the permissions of a normal file.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Read once: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _umask()


def save_npz(
    target: str | os.PathLike[str], arrays: Mapping[str, Any], compress: bool = True
) -> Path:
    """Write ``arrays`` to ``target`` (an ``.npz``) atomically and return the path."""
    saver = np.savez_compressed if compress else np.savez
    with atomic_path(target, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            saver(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(target)


def load_npz(
    path: str | os.PathLike[str], required: Sequence[str] = (), what: str = "an .npz file"
) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``.

    An unreadable file, or one without every ``required`` key, raises
    :class:`~ner_repro.core.errors.InputError` naming ``path`` and ``what`` it should be
    (e.g. ``"a session file"``).
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in required if k not in npz.files]
            if missing:
                raise InputError(
                    path,
                    f"not {what}: missing key(s) {', '.join(missing)} "
                    f"(found: {', '.join(npz.files)})",
                )
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(path, f"cannot read {what} ({exc})") from exc


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)
