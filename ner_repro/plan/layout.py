"""The configuration read as sessions, seeds and methods: :class:`Layout`.

What the workflow is asked to build, before any output path: the recordings (present,
simulated or to be fetched), the sessions and the ones skipped, the example session and its
substitute, each method's kind, settings and seeds, the session groups of the figures, the
Fig8 sources, and the provenance every figure states on its face. Output paths are
:class:`ner_repro.plan.paths.Paths`' (a subclass), figure specs
:mod:`ner_repro.plan.figures`'; this module calls neither.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from ner_repro.core.config import AREAS, MODES, SessionKey
from ner_repro.core.provenance import resolve_device
from ner_repro.data.mcmaze import SESSION_PREFIX
from ner_repro.data.recordings import find_recording, ner_filename
from ner_repro.methods.kinds import ENTRY_KEYS, kind_of
from ner_repro.plan.specs import FIGURES, Group, Skipped
from ner_repro.synthetic.reaching import SimulatedSession, sessions_from_config


class Layout:
    """The workflow's view of a validated configuration: sessions, seeds and methods."""

    def __init__(self, config: Mapping[str, Any], workdir: str | os.PathLike[str] = ".") -> None:
        self.config = config
        self.workdir = Path(workdir)
        self.results = Path(config["results_dir"])
        self.data_dir = Path(config["data_dir"])
        # --config seeds=[0,1] arrives as strings.
        self.seeds = [int(s) for s in config["seeds"]]

    @cached_property
    def train_device(self) -> str:
        """``cpu`` or ``cuda``: the configured ``device`` with ``auto`` resolved on this machine."""
        return resolve_device(self.config["device"])

    @cached_property
    def wildcard_patterns(self) -> dict[str, str]:
        """The regular expressions of the rules' wildcards, built from their one declaration
        each (areas and modes: the schema; methods: the config; MC_Maze session ids:
        :mod:`ner_repro.data.mcmaze`; decoders: :mod:`ner_repro.analysis.decoding`; figures:
        :data:`~ner_repro.plan.specs.FIGURES`)."""
        from ner_repro.analysis.decoding import DECODERS  # sklearn: only when asked for

        area = "|".join(AREAS)
        session = rf"[A-Za-z]+_[0-9]{{8}}_({area})|{SESSION_PREFIX}[A-Za-z0-9-]+"
        methods = "|".join(sorted(self.config["methods"]))
        return {
            "area": area,
            "session": session,
            "method": methods,
            "group": rf"[A-Za-z0-9]+(\+[A-Za-z0-9]+)*_({area})(\+({area}))*",
            "mode": "|".join(MODES),
            "decoder": "|".join(DECODERS),
            "anchor": rf"({methods})-({session})",
            "fig": "|".join(FIGURES),
        }

    @staticmethod
    def session_key(monkey: str, date: str, area: str) -> SessionKey:
        """The key of one session (a rule's ``monkey``/``date``/``area`` wildcards)."""
        return SessionKey(monkey, date, area)

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
        paths.update(self.missing_nwb())
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

    def seeds_for(self, method: str) -> list[int]:
        """The seeds ``method`` is trained and reported over: its own ``seeds`` if it sets
        them (e.g. more for a method with a large spread between seeds), else ``seeds``.

        A method's own seeds must include the figure seed (the first of ``seeds``), which
        the figures show.
        """
        own = self.config["methods"][method].get("seeds")
        if own is None:
            return list(self.seeds)
        try:
            seeds = [int(s) for s in own]
        except (TypeError, ValueError):
            raise ValueError(
                f"config methods.{method}.seeds: a list of whole numbers, got {own!r}"
            ) from None
        if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise ValueError(
                f"config methods.{method}.seeds: distinct whole numbers >= 0, got {own!r}"
            )
        if self.figure_seed not in seeds:
            raise ValueError(
                f"config methods.{method}.seeds {seeds} must include the figure seed "
                f"{self.figure_seed} (the first of seeds)"
            )
        return seeds

    def group_sessions(self, group: Group | str) -> list[SessionKey]:
        group = Group.parse(group) if isinstance(group, str) else group
        return self.sessions(group.datasets, group.areas)

    def group_skipped(self, group: Group | str) -> list[str]:
        group = Group.parse(group) if isinstance(group, str) else group
        return [s.session.name for s in self.skipped(group.datasets, group.areas)]

    def describe(self, methods: Iterable[str]) -> dict[str, dict[str, str]]:
        """``{method: {"label": ..., "kind": ...}}`` for figure parameters."""
        return {m: {"label": self.label(m), "kind": self.kind(m)} for m in methods}

    def label(self, method: str) -> str:
        """Display name of a method (``label`` in its config, else its name)."""
        return str(self.config["methods"][method].get("label", method))

    @property
    def training_cap(self) -> dict[str, int]:
        """The configured ``training_cap`` (key -> limit; empty when unset)."""
        return {k: int(v) for k, v in (self.config.get("training_cap") or {}).items()}

    def method_settings(self, method: str) -> dict[str, Any]:
        """Every setting ``method`` trains with: its kind's defaults updated by its config entry."""
        entry = self.config["methods"][method]
        params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
        return kind_of(self.kind(method)).resolve(params, method=method)

    def method_spec(self, method: str) -> dict[str, Any]:
        """A method's config entry with ``training_cap`` applied (what its training rule uses)."""
        spec = {k: v for k, v in self.config["methods"][method].items() if k != "seeds"}
        settings = self.method_settings(method)
        for key, cap in self.training_cap.items():
            value = settings.get(key)
            if isinstance(value, Mapping):  # e.g. pi-VAE's epochs by area
                spec[key] = {k: min(int(v), cap) for k, v in value.items()}
            elif value is not None:
                spec[key] = min(int(value), cap)
        return spec

    def methods_of_kind(self, *kinds: str) -> list[str]:
        """The configured methods of the given kinds, sorted by name."""
        return sorted(m for m in self.config["methods"] if self.kind(m) in kinds)

    def method_pattern(self, exclude_kinds: Iterable[str] = ()) -> str:
        """A regular expression matching exactly the configured method names, except those
        of ``exclude_kinds`` (a wildcard constraint; it matches nothing if none is left)."""
        names = [m for m in sorted(self.config["methods"]) if self.kind(m) not in exclude_kinds]
        return "|".join(names) if names else "(?!)"

    def kind(self, method: str) -> str:
        return str(self.config["methods"][method]["kind"])

    def uses_gpu(self, method: str) -> bool:
        """Whether ``method``'s training jobs run on a GPU: its kind trains on one and the
        workflow's device is CUDA (``device: cuda``, or ``auto`` on a machine with CUDA)."""
        return self.train_device == "cuda" and kind_of(self.kind(method)).gpu

    @property
    def figure_seed(self) -> int:
        """Figures show the first seed; the report summarises all of them."""
        return self.seeds[0]

    @property
    def mode(self) -> str:
        return str(self.config["evaluation"])

    def example_anchor(self, method: str) -> str:
        """Anchor name ``{method}-{example session}``."""
        return f"{method}-{self.example[0].name}"

    def self_anchor(self, method: str, group: Group | str) -> str:
        """Anchor name for a group aligned onto its own first session."""
        sessions = self.group_sessions(group)
        if not sessions:
            raise ValueError(f"group {group} has no sessions present")
        return f"{method}-{sessions[0].name}"

    def provenance(
        self, groups: Iterable[Group | str] = (), sessions: Iterable[str] = ()
    ) -> dict[str, Any]:
        """What every figure states on its face: sessions, substitutes, skipped inputs, mode, seed."""
        example, substitute = self.example
        used: list[str] = list(sessions)
        skipped: list[str] = []
        for group in groups:
            used += [k.name for k in self.group_sessions(group)]
            skipped += self.group_skipped(group)
        return {
            "evaluation": self.mode,
            "seed": self.figure_seed,
            "seeds": self.seeds,
            "sessions": sorted(set(used)),
            "skipped": sorted(set(skipped)),
            "example": example.name,
            "example_is_substitute": substitute,
            "example_requested": self.config["figures"]["example"]["session"],
            "simulated": bool(self.simulated),
            "training_cap": self.training_cap,
        }

    def has_figure(self, name: str) -> bool:
        if name == "fig8":
            return bool(self.fig8_sources())
        if name in ("fig1", "fig2", "demo_gif"):
            # The example-session figures (the GIF is drawn from Fig2's method).
            figures = self.config["figures"]
            return "example" in figures and bool(figures.get("fig2" if name != "fig1" else name))
        spec = self.config["figures"].get(name)
        return bool(spec)

    def cross_groups(self) -> dict[str, Group]:
        """The cross-decoding groups of Fig5, Fig6, Fig7 and the supplement, by figure."""
        out = {}
        for fig in ("fig5", "fig6", "fig7", "supplement"):
            cfg = self.config["figures"].get(fig)
            if cfg:
                out[fig] = Group.of(cfg["datasets"], cfg.get("areas", cfg.get("area")))
        return out

    def fig8_sources(self) -> dict[str, str]:
        """Where Fig8 comes from: ``{"trained": nwb}`` when the NWB file is present (or
        synthetic), else ``{"published": published_dir/Fig8}`` when the authors' embeddings
        are; when neither is, the NWB file is fetched with ``missing: error`` and Fig8 is
        skipped (and reported) with ``missing: skip``."""
        mc = self.config.get("mcmaze") or {}
        nwb = mc.get("nwb")
        if not nwb:
            return {}
        if mc.get("synthetic") or (self.workdir / nwb).is_file():
            return {"trained": str(nwb)}
        published = Path(self.config["published_dir"]) / "Fig8"
        if (self.workdir / published).is_dir():
            return {"published": str(published)}
        if self.config["missing"] == "error":
            return {"trained": str(nwb)}
        return {}

    def missing_nwb(self) -> list[Path]:
        """The MC_Maze NWB file, when Fig8 needs it and it is absent (fetched in error mode)."""
        mc = self.config.get("mcmaze") or {}
        trained = self.fig8_sources().get("trained")
        if trained and not mc.get("synthetic") and not (self.workdir / trained).is_file():
            return [Path(trained)]
        return []
