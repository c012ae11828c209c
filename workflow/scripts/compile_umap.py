"""Rule compile_umap: compile umap-learn and pynndescent once into numba's on-disk cache.

The UMAP training jobs then load the machine code instead of each compiling it again (see
ner_repro.methods.umap). The cache is the folder NUMBA_CACHE_DIR (set by the Snakefile).
"""

import os
import sys

from ner_repro.core import atomic, jobs
from ner_repro.methods.umap import warm_up


def main(smk):
    cache = os.environ.get("NUMBA_CACHE_DIR", "(numba's default: next to the packages)")
    print(f"compiling umap-learn and pynndescent into {cache}", flush=True)
    seconds = warm_up(log=sys.stdout)
    print(f"compiled in {seconds:.1f} s", flush=True)
    atomic.write_text(smk.output[0], f"numba cache {cache}\nwarm-up {seconds:.1f} s\n")


jobs.run(snakemake, main)
