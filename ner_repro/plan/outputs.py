"""What the workflow builds, as plain functions of the configuration.

The Snakefile asks this module which sessions exist, where each file goes and what
each figure needs, so the rules stay thin and the logic is unit-tested. Nothing here
runs an analysis.

Every output path is relative to ``results_dir``:

==================================================  ===========================================
``sessions/{session}.npz``                          one session and area (:mod:`ner_repro.core.session`)
``embeddings/{method}/{session}_seed{seed}.npz``    one trained method (:mod:`ner_repro.core.embedding`)
``checkpoints/{method}/{session}_seed{seed}.pt``    resumable training state (deleted when done)
``logs/...``, ``benchmarks/...``                    per-job logs and timings
==================================================  ===========================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from ner_repro.core.config import AREAS, MODES, SessionKey, check_references
from ner_repro.core.provenance import resolve_device
from ner_repro.data.mcmaze import SESSION_PREFIX
from ner_repro.data.recordings import find_recording, ner_filename
from ner_repro.methods.kinds import ENTRY_KEYS, check_methods, kind_of
from ner_repro.plan import mcmaze
from ner_repro.plan.specs import FIGURES, FigureSpec, Group, Skipped
from ner_repro.synthetic.reaching import SimulatedSession, sessions_from_config


class Plan:
    """The workflow's view of a validated configuration."""

    def __init__(self, config: Mapping[str, Any], workdir: str | os.PathLike[str] = ".") -> None:
        self.config = config
        self.workdir = Path(workdir)
        self.results = Path(config["results_dir"])
        self.data_dir = Path(config["data_dir"])
        # --config seeds=[0,1] arrives as strings.
        self.seeds = [int(s) for s in config["seeds"]]

    def check(self) -> Plan:
        """Raise ``ValueError`` for names the configuration uses but does not define, and for
        method settings their kind does not accept (naming the method and key); ``self``."""
        check_references(self.config)
        check_methods(self.config["methods"])
        self.shuffled_control()
        return self

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
        """Embedding files of ``methods`` x ``keys`` x seeds (each method's own, by default)."""
        return [
            self.embedding(m, k, s)
            for m in methods
            for k in keys
            for s in (self.seeds_for(m) if seeds is None else seeds)
        ]

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

    # -- analysis outputs ----------------------------------------------------------------
    def _analysis(self, kind: str, folder: str, stem: str, ext: str) -> Path:
        return self.results / "analysis" / kind / folder / f"{stem}.{ext}"

    def explained_variance(
        self, group: str, method: str, mode: str, seed: int, ext: str = "npz"
    ) -> Path:
        """Fig4 decoding of every session of ``group`` (``.npz`` for figures, ``.csv`` table)."""
        return self._analysis("explained_variance", group, f"{method}_{mode}_seed{seed}", ext)

    def crossdecode(
        self, group: str, method: str, decoder: str, mode: str, seed: int, ext: str = "npz"
    ) -> Path:
        """Fig5-7 self/cross-decoding matrices of ``group``."""
        return self._analysis("crossdecode", group, f"{method}_{decoder}_{mode}_seed{seed}", ext)

    def alignment(self, group: str, method: str, anchor: str, mode: str, seed: int) -> Path:
        """Fig3/6/7 rotation of ``group``'s embeddings onto ``anchor`` (``{method}-{session}``)."""
        return self._analysis("alignment", group, f"{method}_to_{anchor}_{mode}_seed{seed}", "npz")

    def stats(self, group: str, decoder: str, mode: str, seed: int) -> Path:
        """Paired tests between the methods of a cross-decoding figure."""
        return self._analysis("stats", group, f"{decoder}_{mode}_seed{seed}", "csv")

    def insample(self, method: str, session: str, seed: int, ext: str = "npz") -> Path:
        """Fig1/Fig8 in-sample decoding of one run."""
        return self._analysis("insample", session, f"{method}_seed{seed}", ext)

    # -- groups, anchors, labels ---------------------------------------------------------
    # -- every session, without figures (one's own recordings) ------------------------------
    def all_embeddings(self) -> list[Path]:
        """Every configured method on every session to build, each over its seeds."""
        return self.embeddings(sorted(self.config["methods"]), self.sessions())

    def all_decoding(self) -> list[Path]:
        """The decoding table (in-sample and held-out R², direction accuracy; the Fig4
        analysis) of every method on every dataset and area, in the configured evaluation
        mode, over each method's seeds."""
        out = []
        for name, ds in self.config["datasets"].items():
            for area in ds["areas"]:
                group = Group.of([name], area)
                if not self.group_sessions(group):
                    continue
                for m in sorted(self.config["methods"]):
                    for s in self.seeds_for(m):
                        out.append(self.explained_variance(group.name, m, self.mode, s, "csv"))
        return out

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

    # -- controls ----------------------------------------------------------------------
    def shuffled_control(self) -> dict[str, Any] | None:
        """The shuffled-label control (``controls.shuffled_labels``), or ``None`` if not
        configured: ``{"embeddings", "labels", "csv"}`` -- each method and its shuffled-label
        twin on the example session at the figure seed, their display names, and the table
        (:func:`ner_repro.analysis.controls.shuffled_label_decoding`).

        Raises ``ValueError`` unless each twin is a method of the same kind with
        ``shuffle_labels: true`` (and its real method without).
        """
        cfg = (self.config.get("controls") or {}).get("shuffled_labels")
        if not cfg:
            return None
        example, _ = self.example
        seed = self.figure_seed
        methods = self.config["methods"]
        paths, labels = [], []
        for real, shuffled in cfg["methods"].items():
            where = f"config controls.shuffled_labels.methods.{real}"
            for name in (real, shuffled):
                if name not in methods:
                    raise ValueError(f"{where}: unknown method {name!r}")
            if self.kind(real) != self.kind(shuffled):
                raise ValueError(
                    f"{where}: {shuffled!r} is of kind {self.kind(shuffled)!r}, "
                    f"{real!r} of kind {self.kind(real)!r}"
                )
            if not self.method_settings(shuffled).get("shuffle_labels"):
                raise ValueError(f"{where}: method {shuffled!r} needs shuffle_labels: true")
            if self.method_settings(real).get("shuffle_labels"):
                raise ValueError(f"{where}: method {real!r} trains on shuffled labels itself")
            for name in (real, shuffled):
                paths.append(str(self.embedding(name, example, seed)))
                labels.append(self.label(name))
        csv = (
            self.results
            / "analysis"
            / "controls"
            / f"shuffled_labels_{example.name}_seed{seed}.csv"
        )
        return {
            "embeddings": paths,
            "labels": labels,
            "csv": str(csv),
            "in_report": bool(cfg.get("in_report", False)),
        }

    def checkpoint(self, method: str, session: str, seed: int) -> Path:
        """Where a resumable training keeps its state (an interrupted job resumes from it)."""
        return self.results / "checkpoints" / method / f"{session}_seed{seed}.pt"

    def training_spec(self, method: str, session: str, seed: int) -> dict[str, Any]:
        """What one training job of ``method`` runs with: :meth:`method_spec`, for a
        resumable kind its :meth:`checkpoint` (unless the config sets one), and with
        ``save_models`` the :meth:`model_file` of a kind that can save its model."""
        spec = self.method_spec(method)
        kind = kind_of(self.kind(method))
        if kind.resumable:
            spec.setdefault("checkpoint", str(self.checkpoint(method, session, seed)))
        if self.config.get("save_models") and "save_model" in kind.settings:
            spec.setdefault("save_model", str(self.model_file(method, session, seed)))
        return spec

    def model_file(self, method: str, session: str, seed: int) -> Path:
        """Where a fitted model is kept with ``save_models: true``."""
        return self.results / "models" / method / f"{session}_seed{seed}.pt"

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

    # -- figures -------------------------------------------------------------------------
    def figure(self, name: str) -> FigureSpec:
        """The inputs, outputs and parameters of one figure target."""
        if name not in FIGURES:
            raise KeyError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
        return getattr(self, f"_figure_{name}")()

    def figures(self) -> list[FigureSpec]:
        return [self.figure(name) for name in FIGURES if self.has_figure(name)]

    def has_figure(self, name: str) -> bool:
        if name == "fig8":
            return bool(self.fig8_sources())
        if name in ("fig1", "fig2", "demo_gif"):
            # The example-session figures (the GIF is drawn from Fig2's method).
            figures = self.config["figures"]
            return "example" in figures and bool(figures.get("fig2" if name != "fig1" else name))
        spec = self.config["figures"].get(name)
        return bool(spec)

    def figure_file(self, fig: str, filename: str) -> str:
        return str(self.results / "figures" / fig / filename)

    def _figure_fig1(self) -> FigureSpec:
        example, _ = self.example
        spec = FigureSpec("fig1", params=self.provenance(sessions=[example.name]))
        seed = self.figure_seed
        methods = self.config["figures"]["fig1"]["methods"]
        spec.inputs["insample"] = [str(self.insample(m, example.name, seed)) for m in methods]
        spec.params["methods"] = methods
        spec.params["labels"] = [self.label(m) for m in methods]
        spec.params["iterations"] = [
            int(self.method_settings(m).get("max_iterations", 0)) for m in methods
        ]
        for m in methods:
            prefix = f"{self.label(m)}_{example.name}"
            for panel in (
                "train_loss",
                "Decoding",
                "Embedding",
                "X_velocity_real_vs_pred",
                "Y_velocity_real_vs_pred",
            ):
                spec.outputs[f"{m}:{panel}"] = self.figure_file("fig1", f"{prefix}_{panel}.pdf")
        return spec

    def _figure_fig2(self) -> FigureSpec:
        example, _ = self.example
        method = self.config["figures"]["fig2"]["method"]
        spec = FigureSpec("fig2", params=self.provenance(sessions=[example.name]))
        spec.params["method"] = method
        spec.params["label"] = self.label(method)
        spec.inputs["embedding"] = [str(self.embedding(method, example, self.figure_seed))]
        for panel in ("single_trial_embedding", "average_trial_embedding"):
            spec.outputs[panel] = self.figure_file(
                "fig2", f"{self.label(method)}_{example.name}_{panel}.pdf"
            )
        return spec

    def _figure_demo_gif(self) -> FigureSpec:
        example, _ = self.example
        method = self.config["figures"]["fig2"]["method"]
        spec = FigureSpec("demo_gif", params=self.provenance(sessions=[example.name]))
        spec.params["label"] = self.label(method)
        spec.params.update(self.config["figures"].get("demo_gif") or {})
        spec.inputs["embedding"] = [str(self.embedding(method, example, self.figure_seed))]
        spec.outputs["gif"] = self.figure_file("demo", f"vel_vs_latent_{example.name}.gif")
        return spec

    def _figure_fig3(self) -> FigureSpec:
        cfg = self.config["figures"]["fig3"]
        groups = {name: Group.of(datasets, cfg["area"]) for name, datasets in cfg["groups"].items()}
        spec = FigureSpec("fig3", params=self.provenance(groups.values()))
        seed, mode = self.figure_seed, self.mode
        spec.params["groups"] = {name: g.name for name, g in groups.items()}
        spec.params["methods"] = self.describe(cfg["methods"])
        for title, group in groups.items():
            sessions = self.group_sessions(group)
            if not sessions:
                continue
            for m in cfg["methods"]:
                if kind_of(self.kind(m)).rotated:
                    spec.inputs[f"{m}:{title}"] = [
                        str(self.alignment(group.name, m, self.example_anchor(m), mode, seed))
                    ]
                    for when in ("Before", "After"):
                        spec.outputs[f"{m}:{title}:{when}"] = self.figure_file(
                            "fig3", f"{self.label(m)}_{when}_rotate_{title}.pdf"
                        )
                else:
                    spec.inputs[f"{m}:{title}"] = [
                        str(self.embedding(m, k, seed)) for k in sessions
                    ]
                    spec.outputs[f"{m}:{title}:embeddings"] = self.figure_file(
                        "fig3", f"{self.label(m)}_embeddings_{title}.pdf"
                    )
        return spec

    def _figure_fig4(self) -> FigureSpec:
        cfg = self.config["figures"]["fig4"]
        panels = {name: Group.of(p["datasets"], p["area"]) for name, p in cfg["panels"].items()}
        spec = FigureSpec("fig4", params=self.provenance(panels.values()))
        seed, mode = self.figure_seed, self.mode
        spec.params["methods"] = self.describe(cfg["methods"])
        spec.params["panels"] = {}
        accuracy = set(cfg.get("accuracy_datasets", []))
        for name, group in panels.items():
            if not self.group_sessions(group):
                continue
            spec.params["panels"][name] = group.name
            spec.inputs[name] = [
                str(self.explained_variance(group.name, m, mode, seed)) for m in cfg["methods"]
            ]
            spec.outputs[f"{name}:velocities"] = self.figure_file(
                "fig4", f"Velocities_{name}_sessions.pdf"
            )
            spec.outputs[f"{name}:positions"] = self.figure_file(
                "fig4", f"Positions_{name}_sessions.pdf"
            )
            acc_group = Group.of([d for d in group.datasets if d in accuracy], group.areas)
            if acc_group.datasets and self.group_sessions(acc_group):
                spec.inputs[f"{name}:accuracy"] = [
                    str(self.explained_variance(acc_group.name, m, mode, seed))
                    for m in cfg["methods"]
                ]
                spec.inputs[f"{name}:profile"] = [
                    str(self.session_npz(k)) for k in self.group_sessions(acc_group)
                ]
                spec.outputs[f"{name}:accuracy"] = self.figure_file(
                    "fig4", f"Direction_accuracy_across_time_{name}.pdf"
                )
        return spec

    def cross_groups(self) -> dict[str, Group]:
        """The cross-decoding groups of Fig5, Fig6, Fig7 and the supplement, by figure."""
        out = {}
        for fig in ("fig5", "fig6", "fig7", "supplement"):
            cfg = self.config["figures"].get(fig)
            if cfg:
                out[fig] = Group.of(cfg["datasets"], cfg.get("areas", cfg.get("area")))
        return out

    def _matrices(
        self, spec: FigureSpec, fig: str, group: Group, title: str, metrics: Sequence[str]
    ) -> None:
        cfg = self.config["figures"][fig]
        seed, mode = self.figure_seed, self.mode
        for decoder, key in (("linear", "linear_methods"), ("knn", "knn_methods")):
            methods = cfg.get(key) or []
            if not methods:
                continue
            spec.inputs[f"{decoder}"] = [
                str(self.crossdecode(group.name, m, decoder, mode, seed)) for m in methods
            ]
            spec.params[f"{decoder}_methods"] = self.describe(methods)
            suffix = "" if decoder == "linear" else "_kNN"
            for metric in metrics:
                spec.outputs[f"{decoder}:{metric}"] = self.figure_file(
                    fig, f"{title}_{metric}_matrix{suffix}.pdf"
                )
        spec.outputs["accuracy"] = self.figure_file(fig, f"{title}_accuracy.pdf")

    def _cross_figure(self, fig: str, metrics: Sequence[str]) -> FigureSpec:
        group = self.cross_groups()[fig]
        spec = FigureSpec(fig, params=self.provenance([group]))
        spec.params["group"] = group.name
        if self.group_sessions(group):
            self._matrices(spec, fig, group, group.name, metrics)
        return spec

    def _rotations(
        self, spec: FigureSpec, fig: str, group: Group, anchors: Mapping[str, str]
    ) -> None:
        """Rotation panels of ``group`` for each anchor kind (``{suffix: anchor method or ''}``)."""
        cfg = self.config["figures"][fig]
        seed, mode = self.figure_seed, self.mode
        sessions = self.group_sessions(group)
        if not sessions:
            return
        spec.params["rotate_methods"] = self.describe(cfg.get("rotate_methods", []))
        for m in cfg.get("rotate_methods", []):
            for suffix, anchor_method in anchors.items():
                if anchor_method == "self":
                    anchor = self.self_anchor(m, group)
                else:
                    anchor = self.example_anchor(anchor_method or m)
                key = f"{m}:rotate{suffix}"
                spec.inputs[key] = [str(self.alignment(group.name, m, anchor, mode, seed))]
                spec.params.setdefault("anchors", {})[key] = anchor
                for when in ("Before", "After"):
                    spec.outputs[f"{key}:{when}"] = self.figure_file(
                        fig, f"{self.label(m)}_{when}_rotate_{group.name}{suffix}.pdf"
                    )

    def _figure_fig5(self) -> FigureSpec:
        return self._cross_figure("fig5", ("vel", "pos", "acc"))

    def _figure_fig6(self) -> FigureSpec:
        spec = self._cross_figure("fig6", ("vel", "pos", "acc"))
        cfg = self.config["figures"]["fig6"]
        pmd = Group.of(cfg["datasets"], "PMd")
        spec.params["rotation_group"] = pmd.name
        # The authors rotate every method's PMd embeddings onto the NER M1 anchor.
        anchor = "NER" if "NER" in self.config["methods"] else ""
        self._rotations(spec, "fig6", pmd, {"_to_M1": anchor})
        return spec

    def _figure_fig7(self) -> FigureSpec:
        spec = self._cross_figure("fig7", ("vel", "pos"))
        group = self.cross_groups()["fig7"]
        anchor = "NER" if "NER" in self.config["methods"] else ""
        self._rotations(spec, "fig7", group, {"_self_rotate": "self", "_to_M1": anchor})
        return spec

    # -- Fig8 (MC_Maze) ------------------------------------------------------------------
    def _figure_fig8(self) -> FigureSpec:
        return mcmaze.figure_spec(self)

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
