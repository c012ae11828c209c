"""Reproducible sampling for CEBRA loaders.

CEBRA 0.6's distributions do **not** draw from torch's global generator: every
:class:`cebra.distributions.base.HasGenerator` creates its own ``torch.Generator`` and
seeds it with ``Generator.seed()``, i.e. from ``std::random_device``/the clock. So
``torch.manual_seed`` fixes the model's initial weights but not which bins are sampled,
and two "seeded" ``cebra.CEBRA`` fits differ.

:func:`seed_loader_from_torch` re-seeds every generator of a loader's distribution(s)
from torch's global generator; after ``torch.manual_seed(seed)`` a fit is then
reproducible (bit-identical on CPU). :func:`loader_rng_state` and
:func:`set_loader_rng_state` save and restore those generators for resumable training.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from cebra.distributions.base import HasGenerator

__all__ = [
    "loader_generators",
    "loader_rng_state",
    "seed_loader_from_torch",
    "set_loader_rng_state",
]


def loader_generators(loader: object) -> Iterator[tuple[str, HasGenerator]]:
    """The objects of ``loader`` that own a generator: its distributions and their parts.

    Yields ``(path, object)`` pairs in a fixed order, one per
    :class:`~cebra.distributions.base.HasGenerator` reachable through attributes (for
    example ``"distribution"`` and ``"distribution.prior"`` of a continuous loader).
    Samplers that draw from NumPy's or torch's global generators (CEBRA's discrete and
    multi-session ones) have nothing to seed here: seeding those global generators
    already makes them reproducible.
    """
    seen: set[int] = set()

    def walk(obj: object, prefix: str) -> Iterator[tuple[str, HasGenerator]]:
        for name, value in sorted(vars(obj).items()):
            if isinstance(value, HasGenerator) and id(value) not in seen:
                seen.add(id(value))
                yield prefix + name, value
                yield from walk(value, f"{prefix}{name}.")

    yield from walk(loader, "")


def seed_loader_from_torch(loader: object) -> None:
    """Seed every generator of ``loader``'s distribution from torch's global generator.

    Draws one 63-bit integer per generator with :func:`torch.randint` (global CPU
    generator), in the fixed order of :func:`loader_generators`.
    """
    for _, holder in loader_generators(loader):
        seed = int(torch.randint(0, 2**62, (1,)).item())
        holder.generator.manual_seed(seed)
        holder._seed = seed  # what HasGenerator.seed reports (and re-applies after .to())


def loader_rng_state(loader: object) -> dict[str, torch.Tensor]:
    """States of ``loader``'s generators (CPU byte tensors), keyed by attribute path."""
    return {name: holder.generator.get_state().cpu() for name, holder in loader_generators(loader)}


def set_loader_rng_state(loader: object, state: dict[str, torch.Tensor]) -> None:
    """Restore generator states saved with :func:`loader_rng_state`."""
    holders = dict(loader_generators(loader))
    if set(holders) != set(state):
        raise ValueError(
            f"RNG state is for generators {sorted(state)}, but the loader has {sorted(holders)}"
        )
    for name, holder in holders.items():
        holder.generator.set_state(state[name].cpu())
