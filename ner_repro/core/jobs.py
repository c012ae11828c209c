"""Running a workflow job: log to the rule's log file, report bad input plainly.

Every script under ``workflow/scripts`` is a few lines that call library code
through :func:`run`, so all jobs log the same way and a bad input ends the job
with one clear line (file and problem) instead of a deep traceback.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ner_repro.core.atomic import write_failure
from ner_repro.core.errors import AcquisitionError, InputError, OutputError

log = logging.getLogger("ner_repro")


class _Tee:
    """Write to several streams (the log file and the original stream)."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def logging_to(path: str | Path | None) -> Iterator[None]:
    """Send stdout, stderr and the ``ner_repro`` logger to ``path`` (and keep stderr)."""
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as fh:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = _Tee(fh)  # type: ignore[assignment]
        sys.stderr = _Tee(fh, old_err)  # type: ignore[assignment]
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        finally:
            root.removeHandler(handler)
            sys.stdout, sys.stderr = old_out, old_err


def _write_failure(snakemake: Any, exc: Exception) -> OutputError | None:
    """A failure to write one of the job's outputs (full disk, read-only or unwritable
    folder) as one line; ``None`` for anything else, which keeps its traceback."""
    outputs = [Path(str(p)) for p in snakemake.output]
    if not outputs:
        return None
    name = getattr(exc, "filename", None)
    target = Path(name) if name else outputs[0]
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        folders = {p.parent.resolve() for p in outputs}
        if target.parent.resolve() not in folders:
            return None  # an input or a tool's own file, not where the job writes
    return write_failure(target, exc)


@contextlib.contextmanager
def limited_threads(n: int | None) -> Iterator[int | None]:
    """BLAS/OpenMP pools limited to ``n`` threads, and torch's intra-op pool too where torch
    is imported already (this never imports it); everything restored on exit. Yields torch's
    thread count where torch is in use, else ``n``. ``n=None`` changes nothing."""
    from threadpoolctl import threadpool_limits

    module = sys.modules.get("torch")
    before = module.get_num_threads() if module is not None else None
    with threadpool_limits(limits=n) if n is not None else contextlib.nullcontext():
        if module is not None and n is not None:
            module.set_num_threads(n)
        try:
            yield module.get_num_threads() if module is not None else n
        finally:
            if module is not None and before is not None:
                module.set_num_threads(before)


def run(snakemake: Any, job: Callable[[Any], None]) -> None:
    """Run ``job(snakemake)`` with logging to ``snakemake.log[0]``, on the job's threads.

    BLAS/OpenMP pools (and torch's, where torch is used) are limited to the rule's
    ``threads``: oversubscribed pools make small linear algebra many times slower when
    several jobs share the machine. :class:`~ner_repro.core.errors.InputError` and
    :class:`~ner_repro.core.errors.AcquisitionError` end the job with their message only.
    """
    # A rule's text log; the executed notebook of a figure rule is a log too, but not text.
    text_logs = [str(p) for p in snakemake.log if not str(p).endswith(".ipynb")]
    log_path = text_logs[0] if text_logs else None
    threads = max(1, int(getattr(snakemake, "threads", 1)))
    with logging_to(log_path), limited_threads(threads):
        start = time.perf_counter()
        log.info(
            "rule %s, wildcards %s, %d thread(s)",
            snakemake.rule,
            dict(snakemake.wildcards),
            threads,
        )
        try:
            job(snakemake)
        except (InputError, AcquisitionError, OutputError) as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        except Exception as exc:
            failure = _write_failure(snakemake, exc)
            if failure is None:
                raise
            print(f"ERROR: {failure}", file=sys.stderr)
            raise SystemExit(1) from None
        log.info("done in %.1f s", time.perf_counter() - start)
