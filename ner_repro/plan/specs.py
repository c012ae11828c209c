"""The plain types of the plan: sessions left out, session groups, figure specs, modes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ner_repro.core.config import REPO_ROOT, SessionKey


@dataclass(frozen=True)
class Skipped:
    """A configured session left out because its recording is absent (``missing: skip``)."""

    session: SessionKey
    reason: str


FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "demo_gif")


@dataclass(frozen=True)
class Group:
    """Sessions analysed together: datasets x areas, named e.g. ``Chewie2015+Chewie2016_M1``."""

    datasets: tuple[str, ...]
    areas: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{'+'.join(self.datasets)}_{'+'.join(self.areas)}"

    @classmethod
    def parse(cls, name: str) -> Group:
        datasets, areas = name.rsplit("_", 1)
        return cls(tuple(datasets.split("+")), tuple(areas.split("+")))

    @classmethod
    def of(cls, datasets: Iterable[str], areas: Iterable[str] | str) -> Group:
        return cls(tuple(datasets), (areas,) if isinstance(areas, str) else tuple(areas))


@dataclass
class FigureSpec:
    """What one figure notebook reads and writes (all paths relative to the workdir)."""

    name: str
    inputs: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def notebook(self) -> str:
        return str(REPO_ROOT / "workflow" / "notebooks" / f"{self.name}.ipynb")

    def all_inputs(self) -> list[str]:
        return sorted({p for paths in self.inputs.values() for p in paths})

    @property
    def code(self) -> list[str]:
        """The plotting code the figure depends on: its own module and the shared ones,
        so that editing them re-renders the figure (and only the figures using them)."""
        plotting = REPO_ROOT / "ner_repro" / "plotting"
        shared = [
            p for p in plotting.glob("*.py") if p.stem not in FIGURES and p.name != "__init__.py"
        ]
        return sorted(str(p) for p in [plotting / f"{self.name}.py", *shared])
