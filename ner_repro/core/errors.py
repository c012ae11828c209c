"""The error types of the pipeline: bad input (:class:`InputError`), inputs that could not be
fetched (:class:`AcquisitionError`)."""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """A problem with an input file, stated in words a user can act on.

    The message always starts with the offending file, so that a failing
    Snakemake job points straight at it::

        InputError("data/x.mat", "key 'neural_M1' is missing (found: continuous_index, ...)")
        -> "data/x.mat: key 'neural_M1' is missing (found: continuous_index, ...)"
    """

    def __init__(self, path: str | PathLike[str] | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(problem if path is None else f"{self.path}: {problem}")


class AcquisitionError(RuntimeError):
    """Inputs are missing and could not be downloaded."""


class OutputError(RuntimeError):
    """An output could not be written (a full disk, a read-only or unwritable folder), stated
    as ``<path>: <cause>`` in one line, like :class:`InputError`."""

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
