#!/usr/bin/env python3
"""Gather every dependency of the project except torch as wheels, for nodes without internet.

Cluster compute nodes and GPU boxes behind a firewall usually cannot reach PyPI and usually
bring their own CUDA build of torch. This command, run where PyPI is reachable, writes into
one folder:

* a wheel of this project (``ner_repro`` and ``ner_patch``);
* a wheel of every package of the environment it runs in (``make install``'s: every extra, at the
  tested versions: ``pip freeze`` less torch and its CUDA packages), for the named Python
  version and platform (``pip download --only-binary=:all:``); a package PyPI has only as source
  is built into a wheel here (``pip wheel``), which is portable when it is pure Python (the
  command says which ones it built, and refuses a built wheel that is not pure Python when the
  target platform differs from this machine's);
* ``requirements.txt``: what was gathered, pinned.

On the node, with its own torch installed first::

    python -m venv .venv && .venv/bin/pip install torch            # the node's own build
    .venv/bin/pip install --no-index --find-links wheels 'ner-repro[workflow]'

(``make install-offline WHEELS=wheels`` does both, torch from ``TORCH_SPEC`` found in the folder
or already installed.) Usage::

    python tools/wheelhouse.py [--out wheels] [--python-version 3.11] [--platform manylinux2014_x86_64]
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Left to the node: torch and what a torch build brings (CUDA libraries, triton).
NOT_GATHERED = re.compile(
    r"^(torch|torchvision|torchaudio|triton|nvidia-[\w-]+|cuda-[\w-]+)$", re.I
)


def frozen() -> list[str]:
    """``name==version`` of every package installed here, less the project and torch's."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keep = []
    for line in out.splitlines():
        name = re.split(r"[=<>@ ]", line.strip(), maxsplit=1)[0]
        if not name or "==" not in line or NOT_GATHERED.match(name):
            continue
        if name.lower().replace("_", "-") in ("ner-repro", "pip", "setuptools", "wheel"):
            continue
        keep.append(line.strip().split(" ")[0].split("+")[0])
    return keep


def native_platform() -> str:
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("wheels"))
    ap.add_argument("--python-version", default=f"{sys.version_info[0]}.{sys.version_info[1]}")
    ap.add_argument("--platform", default=None, help="e.g. manylinux2014_x86_64 (default: here)")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    target = args.platform or native_platform()
    here = (
        args.platform is None
        and args.python_version == f"{sys.version_info[0]}.{sys.version_info[1]}"
    )
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)], check=True
    )
    built: list[str] = []
    requirements = frozen()
    for req in requirements:
        cmd = [*pip, "download", "--quiet", "--no-deps", "--dest", str(out), "--only-binary=:all:"]
        if not here:
            cmd += ["--python-version", args.python_version, "--platform", target]
            if target.startswith("manylinux2014"):
                cmd += ["--platform", target.replace("manylinux2014", "manylinux_2_17")]
        got = subprocess.run([*cmd, req], capture_output=True, text=True)
        if got.returncode == 0:
            continue
        # Only a source distribution: build a wheel here.
        subprocess.run(
            [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), req], check=True
        )
        built.append(req)
    if built and not here:
        name = lambda r: r.split("==")[0].lower().replace("-", "_")  # noqa: E731
        impure = [
            w.name
            for w in out.glob("*.whl")
            if any(w.name.lower().startswith(name(r) + "-") for r in built)
            and not w.name.endswith("-none-any.whl")
        ]
        if impure:
            print(
                "error: built here but not pure Python, so not usable on "
                f"{target}: {', '.join(impure)}",
                file=sys.stderr,
            )
            return 1
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    print(
        f"{len(list(out.glob('*.whl')))} wheels in {out} for Python {args.python_version} on "
        f"{target} ({platform.machine()} here); built from source: {', '.join(built) or 'none'}; "
        "torch is left to the node"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
