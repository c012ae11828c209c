"""Rule compile_umap: compile umap-learn and pynndescent once into numba's on-disk cache.

The UMAP training jobs then load the machine code instead of each compiling it again (see
ner_repro.methods.umap). The cache is the folder NUMBA_CACHE_DIR (set by the Snakefile).
"""

import os
import sys

from ner_repro.core import atomic, jobs
from ner_repro.core.session import SessionData
from ner_repro.methods.umap import warm_up


def main(smk):
    cache = os.environ.get("NUMBA_CACHE_DIR", "(numba's default: next to the packages)")
    # The sizes UMAP will fit (training split; the test split for the authors' second fit):
    # only the code paths that these sizes take are compiled.
    sizes = []
    for path in smk.input.sessions:
        train = SessionData.load(path).is_train
        sizes += [int(train.sum()), int((~train).sum())]
    print(f"compiling umap-learn and pynndescent into {cache}", flush=True)
    print(f"for {len(smk.input.sessions)} sessions of {min(sizes)}-{max(sizes)} bins", flush=True)
    seconds = warm_up(sizes=sizes, log=sys.stdout)
    print(f"compiled in {seconds:.1f} s", flush=True)
    atomic.write_text(smk.output[0], f"numba cache {cache}\nwarm-up {seconds:.1f} s\n")


jobs.run(snakemake, main)
