"""Configuration: loading, validation against the workflow's schema, and session lists.

The workflow validates its config with Snakemake's ``validate`` (which also fills
in schema defaults); notebooks, tests and scripts use :func:`load_config`, which
applies the same schema, so both see the same values.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
_SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
#: The recording areas (M1, PMd, S1), as the schema declares them.
AREAS: tuple[str, ...] = tuple(_SCHEMA["$defs"]["area"]["enum"])
#: The evaluation modes (``corrected``, ``paper``: README, "Evaluation modes"), as the schema
#: declares them, the default first.
MODES: tuple[str, ...] = tuple(_SCHEMA["properties"]["evaluation"]["enum"])


@dataclass(frozen=True, order=True)
class SessionKey:
    """One recording session and area, ordered canonically by (monkey, date, area)."""

    monkey: str
    date: str
    area: str

    @property
    def name(self) -> str:
        return f"{self.monkey}_{self.date}_{self.area}"

    @property
    def short(self) -> str:
        """The authors' label: YYMMDD, plus the area where sessions of several areas mix."""
        return self.date[2:]

    @classmethod
    def parse(cls, name: str) -> SessionKey:
        """The key of a session name; ``ValueError`` for anything else (see
        :func:`session_parts` for names that may not be sessions)."""
        try:
            monkey, date, area = name.split("_")
        except ValueError:
            raise ValueError(f"not a session name <Monkey>_<YYYYMMDD>_<AREA>: {name!r}") from None
        if area not in AREAS or len(date) != 8 or not date.isdigit():
            raise ValueError(f"not a session name <Monkey>_<YYYYMMDD>_<AREA>: {name!r}")
        return cls(monkey, date, area)


def session_parts(name: str) -> tuple[str, str, str]:
    """``(monkey, date, area)`` of ``{monkey}_{date}_{area}``, for sorting and labelling names
    that may not be sessions: a name of fewer parts gives ``("", name, "")``; one of more
    keeps the rest in the area (``Chewie_20161007_M1_x`` -> area ``M1_x``)."""
    bits = str(name).split("_")
    if len(bits) < 3:
        return "", str(name), ""
    return bits[0], bits[1], "_".join(bits[2:])


def _set_defaults(validator_class: type) -> type:
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(
        validator: Any, properties: Mapping[str, Any], instance: Any, schema: Any
    ) -> Iterator[Any]:
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate ``config`` in place against the schema, filling defaults; returns it."""
    validator = _set_defaults(jsonschema.Draft202012Validator)(_SCHEMA)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = [f"- {'/'.join(map(str, e.path)) or '<top>'}: {e.message}" for e in errors]
        raise ValueError("invalid configuration:\n" + "\n".join(lines))
    check_references(config)
    return config


def check_references(config: Mapping[str, Any]) -> None:
    """Cross-field checks the schema cannot express (methods and datasets named by figures exist)."""
    methods, datasets = set(config["methods"]), set(config["datasets"])
    problems = []

    def need(kind: str, names: Any, known: set[str], where: str) -> None:
        for name in [names] if isinstance(names, str) else names or []:
            if name not in known:
                problems.append(
                    f"{where}: unknown {kind} {name!r} (known: {', '.join(sorted(known))})"
                )

    for fig, spec in config.get("figures", {}).items():
        if not isinstance(spec, Mapping):
            continue
        for key in ("methods", "linear_methods", "knn_methods", "rotate_methods", "method"):
            need("method", spec.get(key), methods, f"figures.{fig}.{key}")
        for key in ("datasets", "accuracy_datasets"):
            need("dataset", spec.get(key), datasets, f"figures.{fig}.{key}")
        for group in (spec.get("groups") or {}).values():
            need("dataset", group, datasets, f"figures.{fig}.groups")
        for panel in (spec.get("panels") or {}).values():
            need("dataset", panel.get("datasets"), datasets, f"figures.{fig}.panels")
    need("method", config.get("mcmaze", {}).get("methods"), methods, "mcmaze.methods")
    if problems:
        raise ValueError("invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def load_config(
    *paths: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Load and merge YAML files (later ones win, as Snakemake's ``--configfile``), apply
    ``overrides`` (as ``--config``), validate and fill defaults."""
    config: dict[str, Any] = {}
    for path in paths or (REPO_ROOT / "config" / "config.yaml",):
        _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    if overrides:
        _merge(config, overrides)
    return validate_config(config)
