"""All-or-nothing output files, and the checked reading of ``.npz`` files.

Every output of the pipeline is written to a temporary file in the target's
directory and renamed into place only when complete, so an interrupted job or
a failed check never leaves a half-written file that a later run would trust.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ner_repro.core.errors import InputError, OutputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched
    (and absent if it did not exist before).
    """
    target = Path(target)
    suffix = target.suffix if suffix is None else suffix
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f"{suffix}.part", dir=target.parent
        )
    except OSError as exc:
        raise write_failure(target, exc) or exc from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file private (0600); give it the permissions of a normal file.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        failure = write_failure(target, exc)
        if failure is not None:
            raise failure from exc
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new folder next to ``target``; on success it replaces ``target`` as a whole
    (an existing folder is restored if the swap fails), on any exception it is removed and
    ``target`` is left as it was. A write that fails for want of space or permission is an
    :class:`OutputError` naming ``target``."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # mkdtemp folders are private (0700); give it the permissions of a normal folder.
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        os.chmod(tmp, 0o777 & ~_UMASK)
    except OSError as exc:
        raise write_failure(target / ".", exc) or exc from exc
    try:
        yield tmp
        if target.is_dir():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / target.name)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old / target.name, target)
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        failure = write_failure(target / ".", exc)
        if failure is not None:
            raise OutputError(target, failure.problem) from exc
        raise


#: Below this many free bytes a failed write is put down to a full disk (torch.save, for one,
#: reports a full disk as ``RuntimeError: ... unexpected pos``, not as an OSError).
FULL_BELOW_BYTES = 1 << 20


def free_bytes(where: str | os.PathLike[str]) -> int | None:
    """Bytes free to this user on the file system holding ``where`` (its nearest existing
    folder); ``None`` where that cannot be read."""
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def write_failure(target: str | os.PathLike[str], exc: BaseException) -> OutputError | None:
    """The one-line :class:`OutputError` for a write of ``target`` that failed with ``exc``
    because of where it was written (full disk, read-only or unwritable folder); ``None`` when
    the cause is something else (then the original error stands)."""
    if isinstance(exc, OutputError):
        return exc
    folder = Path(target).parent
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(target, f"cannot write: no space left on the device holding {folder}")
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return OutputError(target, f"cannot write: {folder} is on a read-only file system")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        return OutputError(target, f"cannot write: permission denied in {folder}")
    if isinstance(exc, Exception):
        free = free_bytes(folder)
        if free is not None and free < FULL_BELOW_BYTES:
            return OutputError(
                target,
                f"cannot write: the device holding {folder} is full ({free} bytes free; "
                f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ''})",
            )
    return None


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
