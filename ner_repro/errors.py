"""The single error type raised for bad input anywhere in the pipeline."""

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
