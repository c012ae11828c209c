#!/usr/bin/env python3
"""Resume a run after its inputs were copied again: same bytes, newer modification times.

Snakemake reruns a job whose input is newer than its outputs, whatever ``--rerun-triggers``
says, so recordings downloaded or copied again (``cp`` without ``-p``, a fresh mount) make it
retrain everything. This tool first checks every input file that ``data/manifest.tsv`` knows
against its SHA-256 (a file with other bytes stops it: then the rerun is right), then gives
the outputs already in the results folder modification times in the order of the workflow's
stages, each newer than the one before and all at or after now:

1. ``sessions/`` and ``numba-cache/`` (what the training jobs read),
2. ``embeddings/`` and ``checkpoints/``,
3. the analyses (``analysis/*`` but the cross-decoding),
4. ``analysis/crossdecode/`` (it reads the alignments),
5. ``figures/``, 6. ``report/``, 7. ``logs/`` and ``benchmarks/`` (outputs of every job).

Nothing is written but modification times; ``--dry-run`` writes nothing. Afterwards
``snakemake -n`` lists only what is missing (and jobs that were interrupted, which
``--rerun-incomplete`` redoes).

Usage::

    python tools/settle_mtimes.py results/paper --inputs ../shared/data/ner-sessions \\
        ../shared/data/ner-published [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ner_repro.core.errors import InputError
from ner_repro.data.acquire import read_manifest, verify

#: The results' folders in the order the workflow makes them (each stage reads the ones before).
STAGES: tuple[tuple[str, ...], ...] = (
    ("sessions", "numba-cache"),
    ("embeddings", "checkpoints"),
    ("analysis/alignment", "analysis/explained_variance", "analysis/insample", "analysis/mcmaze"),
    ("analysis/crossdecode",),
    ("figures",),
    ("report",),
    ("logs", "benchmarks"),
)

#: What a changed input means here (the end of :func:`acquire.verify`'s message).
STALE = "its bytes changed, so the jobs that read it should run again; not settling"


def check_inputs(folders: Sequence[Path]) -> tuple[int, list[Path]]:
    """SHA-256 of every file under ``folders`` that the manifest knows (by its path relative to
    its folder, or its name); raises :class:`InputError` on the first mismatch. Returns the
    number verified and the files the manifest does not know (not verified)."""
    manifest = read_manifest()
    verified, unknown = 0, []
    for folder in folders:
        if not folder.is_dir():
            raise InputError(folder, "not a folder")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = next(
                (n for n in (path.relative_to(folder).as_posix(), path.name) if n in manifest), None
            )
            if name is None or not manifest[name].sha256:
                unknown.append(path)
                continue
            verify(path, manifest, name=name, advice=STALE)
            verified += 1
    return verified, unknown


def settle(results: Path, *, now: float | None = None, dry_run: bool = False) -> list[int]:
    """Set the modification times of every file of each stage of ``results`` to ``now`` plus
    two seconds per stage; returns the number of files per stage."""
    if not results.is_dir():
        raise InputError(results, "no such results folder")
    start = time.time() if now is None else now
    counts = []
    for i, folders in enumerate(STAGES, start=1):
        stamp = start + 2 * i
        files = [
            p for name in folders if (results / name).is_dir() for p in (results / name).rglob("*")
        ]
        files = [p for p in files if p.is_file() and not p.is_symlink()]
        if not dry_run:
            for p in files:
                os.utime(p, (stamp, stamp))
        counts.append(len(files))
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("results", type=Path, help="the workflow's results folder")
    ap.add_argument(
        "--inputs",
        type=Path,
        nargs="+",
        required=True,
        help="the folders of the recordings and published files the run reads",
    )
    ap.add_argument("--dry-run", action="store_true", help="check and count, change nothing")
    args = ap.parse_args(argv)
    try:
        verified, unknown = check_inputs(args.inputs)
        print(f"inputs: {verified} files match data/manifest.tsv's SHA-256", flush=True)
        if unknown:
            print(
                f"inputs: {len(unknown)} files the manifest has no SHA-256 for were not checked: "
                + ", ".join(p.name for p in unknown[:8])
                + (" ..." if len(unknown) > 8 else "")
            )
        counts = settle(args.results, dry_run=args.dry_run)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "would set" if args.dry_run else "set"
    for folders, n in zip(STAGES, counts, strict=True):
        print(f"{verb} the times of {n} files in {', '.join(folders)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
