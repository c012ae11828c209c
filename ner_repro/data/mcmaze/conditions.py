"""MC_Maze's condition sets (which maze types and versions a set of trials holds) and the
constants of the authors' protocol (fig8-baselines.md §1.2-1.5; docs/sources.md)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ner_repro.core.errors import InputError

logger = logging.getLogger(__name__)

#: The workflow's session id of a condition set is ``MCMaze_<set>``.
SESSION_PREFIX = "MCMaze_"

#: What the authors' notebook uses (fig8-baselines.md §1.2-1.3; docs/sources.md).
#: MC_Maze bins (ms), not the 30-ms bins of the other sessions (core.session.BIN_MS).
MCMAZE_BIN_MS = 5
SMOOTH_MS = 50
WINDOW_MS = (-50, 450)
#: Recording metadata for the per-session contract (METHODS §1; docs/sources.md).
MONKEY = "Jenkins"
AREA = "M1PMd"
#: nlb_tools bins spikes at 1 ms on load; ``resample`` decimates behaviour with this FIR order.


# ---------------------------------------------------------------------------------------------
# Condition sets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConditionSet:
    """A set of maze conditions: trials with ``trial_type in types`` and an allowed ``trial_version``.

    The authors' rule is ``(trial_type in types) & (trial_version >= min_version)``
    (fig8-baselines.md §1.4; ``docs/sources.md``).
    ``max_version`` (inclusive) or an explicit ``versions`` list narrow it further; the straight set
    of panels 7b-d / 7c uses ``versions=(0,)``.  ``name`` is used in file names and session ids
    (``MCMaze_<name>``), so it holds letters, digits and '-' only. ``published`` is the stem of the
    authors' npz for this set in ``data_NER/Fig8`` (before ``_parameters``), or "" if none shipped.
    """

    name: str
    types: tuple[int, ...]
    min_version: int = 0
    max_version: int | None = None
    versions: tuple[int, ...] | None = None
    family: str = ""
    published: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(int(t) for t in self.types))
        if self.versions is not None:
            object.__setattr__(self, "versions", tuple(int(v) for v in self.versions))
        if not self.name or not all(c.isalnum() or c == "-" for c in self.name):
            raise ValueError(f"condition set name {self.name!r} must be letters, digits and '-'")
        if not self.types:
            raise ValueError(f"condition set {self.name!r}: no trial types")
        if self.max_version is not None and self.max_version < self.min_version:
            raise ValueError(f"condition set {self.name!r}: max_version < min_version")
        if self.versions is not None and not self.versions:
            raise ValueError(f"condition set {self.name!r}: empty versions list")

    def select(self, trial_type: np.ndarray, trial_version: np.ndarray) -> np.ndarray:
        """Boolean mask of the trials in this set (per trial, recording order kept by the caller)."""
        trial_type = np.asarray(trial_type)
        trial_version = np.asarray(trial_version)
        mask = np.isin(trial_type, self.types) & (trial_version >= self.min_version)
        if self.max_version is not None:
            mask &= trial_version <= self.max_version
        if self.versions is not None:
            mask &= np.isin(trial_version, self.versions)
        return mask

    def describe(self) -> str:
        if self.versions is not None:
            rule = f"trial_version in {list(self.versions)}"
        elif self.max_version is not None:
            rule = f"{self.min_version} <= trial_version <= {self.max_version}"
        else:
            rule = f"trial_version >= {self.min_version}"
        return f"trial_type in {list(self.types)} and {rule}"

    def to_dict(self) -> dict[str, Any]:
        """The config form (see :func:`condition_sets_from_config`); ``name`` is the mapping key."""
        out: dict[str, Any] = {"family": self.family, "types": list(self.types)}
        if self.versions is not None:
            out["versions"] = list(self.versions)
        else:
            out["min_version"] = self.min_version
            if self.max_version is not None:
                out["max_version"] = self.max_version
        if self.published:
            out["published"] = self.published
        return out


#: The paper's sets (fig8-baselines.md §1.4; docs/sources.md). Names are
#: ``<family>-<types joined by ->``.
PAPER_CONDITION_SETS: tuple[ConditionSet, ...] = (
    ConditionSet(
        "curve-straight-13", (13,), 0, family="curve-straight", published="curve-straight_13"
    ),
    ConditionSet(
        "curve-straight-38", (38,), 0, family="curve-straight", published="curve-straight_38"
    ),
    ConditionSet(
        "curve-straight-18", (18,), 0, family="curve-straight", published="curve-straight_18"
    ),
    ConditionSet(
        "curve-straight-13-38-18",
        (13, 38, 18),
        0,
        family="curve-straight",
        published="curve-straight_13-38-18",
    ),
    ConditionSet(
        "curve-up-down-37-1", (37, 1), 1, family="curve-up-down", published="curve-up-down_37-1"
    ),
    ConditionSet(
        "curve-up-down-31-38", (31, 38), 1, family="curve-up-down", published="curve-up-down_31-38"
    ),
    ConditionSet(
        "curve-up-down-34-18", (34, 18), 1, family="curve-up-down", published="curve-up-down_34-18"
    ),
    ConditionSet(
        "curve-up-down-37-1-31-38-34-18",
        (37, 1, 31, 38, 34, 18),
        1,
        family="curve-up-down",
        published="curve-up-down_37-1-31-38-34-18",
    ),
    ConditionSet(
        "straight-13-29-17-38-6-18", (13, 29, 17, 38, 6, 18), versions=(0,), family="straight"
    ),
)


def paper_condition_sets() -> dict[str, dict[str, Any]]:
    """The paper's condition sets as plain data, in the form ``config.yaml`` holds them."""
    return {cs.name: cs.to_dict() for cs in PAPER_CONDITION_SETS}


def condition_sets_from_config(
    sets: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None,
    where: str = "config mcmaze.condition_sets",
) -> list[ConditionSet]:
    """Parse ``mcmaze.condition_sets`` (name -> {types, min_version | max_version | versions, ...}).

    A list of mappings with a ``name`` key is accepted too. An empty or missing entry gives the
    paper's sets. Errors are :class:`InputError` naming ``where`` and the set.
    """
    if not sets:
        return list(PAPER_CONDITION_SETS)
    items: list[tuple[str, Mapping[str, Any]]]
    if isinstance(sets, Mapping):
        items = [(str(k), v) for k, v in sets.items()]
    else:
        items = [(str(v.get("name", "")), v) for v in sets]
    allowed = {"name", "family", "types", "min_version", "max_version", "versions", "published"}
    out = []
    for name, spec in items:
        if not isinstance(spec, Mapping):
            raise InputError(
                where, f"condition set {name!r} must be a mapping, got {type(spec).__name__}"
            )
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise InputError(where, f"condition set {name!r}: unknown key(s) {', '.join(unknown)}")
        if "types" not in spec:
            raise InputError(where, f"condition set {name!r}: 'types' is required")
        try:
            versions = spec.get("versions")
            out.append(
                ConditionSet(
                    name=name,
                    types=tuple(int(t) for t in spec["types"]),
                    min_version=int(spec.get("min_version", 0)),
                    max_version=None
                    if spec.get("max_version") is None
                    else int(spec["max_version"]),
                    versions=None if versions is None else tuple(int(v) for v in versions),
                    family=str(spec.get("family", "")),
                    published=str(spec.get("published", "")),
                )
            )
        except (TypeError, ValueError) as exc:
            raise InputError(where, f"condition set {name!r}: {exc}") from exc
    names = [cs.name for cs in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(where, f"duplicate condition set name(s): {', '.join(dupes)}")
    return out
