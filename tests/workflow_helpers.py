"""Running the workflow from tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(
    args: Sequence[str],
    *,
    config: dict[str, object] | None = None,
    configfile: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    check: bool = True,
    timeout: float = 1200,
) -> subprocess.CompletedProcess[str]:
    """Run the repository's workflow (with its default profile) and capture the output.

    ``workdir`` (``--directory``) keeps Snakemake's state (locks, metadata) out of the
    repository, so tests never interfere with other runs; give absolute paths in the
    config then.
    """
    cmd = [*SNAKEMAKE, *args]
    if workdir is not None:
        cmd += ["--directory", str(workdir)]
    if configfile:
        cmd += ["--configfile", configfile]
    if config:
        cmd += ["--config", *[f"{k}={v}" for k, v in config.items()]]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, text=True, capture_output=True, timeout=timeout, env=env
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-8000:]}"
        )
    return proc
