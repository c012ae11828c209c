"""What the workflow builds, as plain functions of the configuration.

The Snakefile asks this module which sessions exist, where each file goes and what
each figure needs, so the rules stay thin and the logic is unit-tested. Nothing here
runs an analysis.

Every output path is relative to ``results_dir``:

==================================================  ===========================================
``sessions/{session}.npz``                          one session and area (:mod:`ner_repro.session`)
``embeddings/{method}/{session}_seed{seed}.npz``    one trained method (:mod:`ner_repro.embedding`)
``checkpoints/{method}/{session}_seed{seed}.pt``    resumable training state (deleted when done)
``logs/...``, ``benchmarks/...``                    per-job logs and timings
==================================================  ===========================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ner_repro.config import SessionKey
from ner_repro.recordings import find_recording, ner_filename
from ner_repro.simulate import SimulatedSession, sessions_from_config


@dataclass(frozen=True)
class Skipped:
    """A configured session left out because its recording is absent (``missing: skip``)."""

    session: SessionKey
    reason: str


class Plan:
    """The workflow's view of a validated configuration."""

    def __init__(self, config: Mapping[str, Any], workdir: str | os.PathLike[str] = ".") -> None:
        self.config = config
        self.workdir = Path(workdir)
        self.results = Path(config["results_dir"])
        self.data_dir = Path(config["data_dir"])
        # --config seeds=[0,1] arrives as strings.
        self.seeds = [int(s) for s in config["seeds"]]

    # -- recordings ----------------------------------------------------------------
    @cached_property
    def simulated(self) -> dict[tuple[str, str], SimulatedSession]:
        sim = self.config.get("simulate")
        if not sim:
            return {}
        specs = sessions_from_config(sim.get("sessions", []), seed=sim.get("seed", 0))
        return {(s.monkey, s.date): s for s in specs}

    def recording(self, monkey: str, date: str) -> Path:
        """Path of a recording: simulated, found in ``data_dir``, or where a download goes."""
        if (monkey, date) in self.simulated:
            return self.data_dir / self.simulated[(monkey, date)].filename
        found = find_recording(self.workdir / self.data_dir, monkey, date)
        if found is not None:
            return self.data_dir / found.name
        return self.data_dir / ner_filename(monkey, date)

    def is_available(self, monkey: str, date: str) -> bool:
        return (monkey, date) in self.simulated or find_recording(
            self.workdir / self.data_dir, monkey, date
        ) is not None

    # -- sessions ------------------------------------------------------------------
    def dataset(self, name: str) -> Mapping[str, Any]:
        return self.config["datasets"][name]

    def configured(
        self, datasets: Iterable[str] | None = None, areas: Iterable[str] | None = None
    ) -> list[SessionKey]:
        """Every configured session of ``datasets`` (all by default) in ``areas``, canonically ordered."""
        wanted = None if areas is None else set(areas)
        keys = []
        for name in datasets if datasets is not None else self.config["datasets"]:
            spec = self.dataset(name)
            for date in spec["dates"]:
                for area in spec["areas"]:
                    if wanted is None or area in wanted:
                        keys.append(SessionKey(spec["monkey"], str(date), area))
        return sorted(set(keys))

    def sessions(
        self, datasets: Iterable[str] | None = None, areas: Iterable[str] | None = None
    ) -> list[SessionKey]:
        """The sessions to build: all configured ones, or only those present with ``missing: skip``."""
        keys = self.configured(datasets, areas)
        if self.config["missing"] == "skip":
            keys = [k for k in keys if self.is_available(k.monkey, k.date)]
        return keys

    def skipped(
        self, datasets: Iterable[str] | None = None, areas: Iterable[str] | None = None
    ) -> list[Skipped]:
        """Configured sessions left out (only with ``missing: skip``)."""
        if self.config["missing"] != "skip":
            return []
        return [
            Skipped(k, f"recording absent from {self.data_dir}")
            for k in self.configured(datasets, areas)
            if not self.is_available(k.monkey, k.date)
        ]

    def missing_recordings(self) -> list[Path]:
        """Recordings that the configured sessions need and that are not present (error mode)."""
        if self.config["missing"] == "skip":
            return []
        paths = {
            self.recording(k.monkey, k.date)
            for k in self.configured()
            if not self.is_available(k.monkey, k.date)
        }
        return sorted(paths)

    def t_dur(self, key: SessionKey) -> int:
        return int(self.dataset(self.dataset_of(key))["t_dur"])

    def dataset_of(self, key: SessionKey) -> str:
        for name, spec in self.config["datasets"].items():
            if (
                spec["monkey"] == key.monkey
                and int(key.date) in map(int, spec["dates"])
                and key.area in spec["areas"]
            ):
                return name
        raise KeyError(f"session {key.name} is in no configured dataset")

    @cached_property
    def example(self) -> tuple[SessionKey, bool]:
        """The example session (Fig1, Fig2, GIF, alignment anchor) and whether it is the substitute."""
        spec = self.config["figures"]["example"]
        first = SessionKey.parse(spec["session"])
        if self.is_available(first.monkey, first.date) or self.config["missing"] == "error":
            return first, False
        return SessionKey.parse(spec["substitute"]), True

    # -- paths ---------------------------------------------------------------------
    def session_npz(self, key: SessionKey | str) -> Path:
        name = key if isinstance(key, str) else key.name
        return self.results / "sessions" / f"{name}.npz"

    def embedding(self, method: str, key: SessionKey | str, seed: int) -> Path:
        name = key if isinstance(key, str) else key.name
        return self.results / "embeddings" / method / f"{name}_seed{seed}.npz"

    def embeddings(
        self, methods: Sequence[str], keys: Sequence[SessionKey], seeds: Sequence[int] | None = None
    ) -> list[Path]:
        seeds = self.seeds if seeds is None else seeds
        return [self.embedding(m, k, s) for m in methods for k in keys for s in seeds]
