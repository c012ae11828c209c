# Helpers shared by the rule modules. The logic lives in ner_repro.plan; this
# file only adapts it to wildcards.
import os
from pathlib import Path

from ner_repro.plan import Plan

PLAN = Plan(config).check()
RESULTS = config["results_dir"]
DATA_DIR = config["data_dir"]
METHODS = sorted(config["methods"])
# numba's on-disk cache (umap-learn, pynndescent) for every job, under the results so that
# it needs no writable site-packages and survives between jobs; a value set by the user wins.
NUMBA_CACHE_DIR = os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(Path(RESULTS, "numba-cache").resolve())
)
TRAIN_DEVICE = PLAN.train_device


# Aggregate targets run where Snakemake runs, not as cluster jobs.
localrules:
    all,
    all_figures,
    fig1,
    fig2,
    fig3,
    fig4,
    fig5,
    fig6,
    fig7,
    fig8,
    demo_gif,


SESSION_RE = r"[A-Za-z]+_[0-9]{8}_(M1|PMd|S1)|MCMaze_[A-Za-z0-9-]+"
AREA_RE = r"(M1|PMd|S1)"


wildcard_constraints:
    monkey=r"[A-Za-z]+",
    date=r"[0-9]{8}",
    area=r"M1|PMd|S1",
    seed=r"[0-9]+",
    session=SESSION_RE,
    method="|".join(METHODS),
    group=rf"[A-Za-z0-9]+(\+[A-Za-z0-9]+)*_{AREA_RE}(\+{AREA_RE})*",
    mode=r"corrected|paper",
    decoder=r"linear|knn",
    anchor=rf"({'|'.join(METHODS)})-({SESSION_RE})",
    fig=r"fig[1-8]|demo_gif",


def session_key(wildcards):
    return PLAN.session_key(wildcards.monkey, wildcards.date, wildcards.area)


def recording_of(wildcards):
    """The recording a session is read from (present, simulated or to be fetched)."""
    return PLAN.recording(wildcards.monkey, wildcards.date)


def gpu_for(wildcards):
    """Training rules ask for a GPU when they will use one: ``device: cuda``, or ``auto``
    on a machine with CUDA. (On a cluster, plan on the login node with ``device: cuda``.)
    """
    kind = config["methods"][wildcards.method]["kind"]
    return int(TRAIN_DEVICE == "cuda" and kind in ("ner", "cebra", "pivae"))


def stats_methods(wildcards):
    """The methods compared in the statistics of a cross-decoding group."""
    return PLAN.stats_methods(wildcards.group, wildcards.decoder)


def group_embeddings(wildcards):
    return PLAN.embeddings(
        [wildcards.method], PLAN.group_sessions(wildcards.group), [int(wildcards.seed)]
    )


def anchor_embedding(wildcards):
    method, session = wildcards.anchor.split("-", 1)
    return PLAN.embedding(method, session, int(wildcards.seed))


FIGURE_SPECS = {spec.name: spec for spec in PLAN.figures()}


def figure_outputs(name):
    """The figure's files; while its notebook is not written yet, the analyses it needs."""
    spec = FIGURE_SPECS.get(name)
    if spec is None:
        return []
    if not Path(spec.notebook).is_file():
        return spec.all_inputs()
    return list(spec.outputs.values())
