"""Every output path of the workflow: :class:`Paths`, a :class:`~ner_repro.plan.layout.Layout`
that also knows where each session, embedding, checkpoint, analysis, control and figure file
goes (all relative to the workdir, under ``results_dir``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ner_repro.core.config import SessionKey, check_references
from ner_repro.methods.kinds import check_methods, kind_of
from ner_repro.plan.layout import Layout
from ner_repro.plan.specs import Group


class Paths(Layout):
    """Sessions, seeds and methods (:class:`Layout`) and where every output goes."""

    def check(self) -> Paths:
        """Raise ``ValueError`` for names the configuration uses but does not define, and for
        method settings their kind does not accept (naming the method and key); ``self``."""
        check_references(self.config)
        check_methods(self.config["methods"])
        self.shuffled_control()
        return self

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

    def figure_file(self, fig: str, filename: str) -> str:
        return str(self.results / "figures" / fig / filename)
