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
    embeddings,
    decoding,
    controls,


PATTERNS = PLAN.wildcard_patterns


wildcard_constraints:
    monkey=r"[A-Za-z]+",
    date=r"[0-9]{8}",
    area=PATTERNS["area"],
    seed=r"[0-9]+",
    session=PATTERNS["session"],
    method=PATTERNS["method"],
    group=PATTERNS["group"],
    mode=PATTERNS["mode"],
    decoder=PATTERNS["decoder"],
    anchor=PATTERNS["anchor"],
    fig=PATTERNS["fig"],


def session_key(wildcards):
    return PLAN.session_key(wildcards.monkey, wildcards.date, wildcards.area)


def recording_of(wildcards):
    """The recording a session is read from (present, simulated or to be fetched)."""
    return PLAN.recording(wildcards.monkey, wildcards.date)


def gpu_for(wildcards):
    """Training rules ask for a GPU when they will use one (ner_repro.plan.Plan.uses_gpu).
    (On a cluster, plan on the login node with ``device: cuda``.)"""
    return int(PLAN.uses_gpu(wildcards.method))


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


# `snakemake --report`: the files flagged with report(), captioned by workflow/report/*.rst
# (caption paths are relative to the rule files).


def figure_report_file(spec, key, path):
    """One file of a figure: category "Figures", one subcategory per figure (the GIF:
    category "Demo"), captioned by workflow/report/<figure>.rst, labelled by plan key.
    """
    if spec.name == "demo_gif":
        category, subcategory = "Demo", "GIF"
    else:
        category, subcategory = "Figures", spec.name.capitalize()
    return report(
        path,
        caption=f"../report/{spec.name}.rst",
        category=category,
        subcategory=subcategory,
        labels={"figure": subcategory, "panel": key, "file": Path(path).name},
    )


def figure_report_outputs(spec):
    """Every file of a figure, each flagged for the report (figure_report_file)."""
    return [figure_report_file(spec, key, path) for key, path in spec.outputs.items()]


def reproduction_report_file(path, label):
    """One file of the reproduction report (rule report), in category "Reproduction report"."""
    return report(
        path,
        caption="../report/reproduction_report.rst",
        category="Reproduction report",
        labels={"file": Path(path).name, "format": label},
    )
