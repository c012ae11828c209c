"""The CEBRA releases this plugin is written and tested against.

:mod:`ner_patch` subclasses CEBRA internals (the solver, the continuous loader, the
``time_delta`` distribution and the sklearn estimator's ``_prepare_loader`` and
``_prepare_fit`` hooks). Those are not a stable public API, so the plugin refuses to
import on a CEBRA outside the range it was tested with, instead of failing obscurely
in the middle of a training run.
"""

from __future__ import annotations

import importlib.metadata

from packaging.specifiers import SpecifierSet
from packaging.version import Version

#: CEBRA versions this plugin supports (kept in step with ``pyproject.toml``).
SUPPORTED_CEBRA_SPEC = ">=0.6.1,<0.7"
SUPPORTED_CEBRA = SpecifierSet(SUPPORTED_CEBRA_SPEC)


class UnsupportedCEBRAVersion(ImportError):
    """The installed CEBRA is outside :data:`SUPPORTED_CEBRA`."""


def installed_cebra_version() -> str:
    """Version string of the installed ``cebra`` distribution."""
    try:
        return importlib.metadata.version("cebra")
    except importlib.metadata.PackageNotFoundError as exc:  # pragma: no cover - hard dependency
        raise UnsupportedCEBRAVersion(
            f"ner_patch needs the 'cebra' package ({SUPPORTED_CEBRA_SPEC}), which is not installed"
        ) from exc


def check_cebra_version(version: str | None = None) -> str:
    """Raise :class:`UnsupportedCEBRAVersion` unless ``version`` (default: installed) is supported."""
    version = installed_cebra_version() if version is None else version
    if Version(version) not in SUPPORTED_CEBRA:
        raise UnsupportedCEBRAVersion(
            f"ner_patch supports cebra{SUPPORTED_CEBRA_SPEC} but cebra {version} is installed. "
            f"It subclasses CEBRA internals that change between releases; install a supported "
            f"version, e.g. pip install 'cebra{SUPPORTED_CEBRA_SPEC}'."
        )
    return version
