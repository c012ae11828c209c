# Reproduction of "Neural Embeddings Rank" (NeurIPS 2024): from the published MATLAB
# recordings to every figure of the paper. See README.md.
import os

from snakemake.utils import min_version, validate

min_version("9.0")

# The rules' scripts import this checkout's packages (ner_repro, ner_patch), also
# inside the conda environments of --software-deployment-method conda.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [workflow.basedir, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
)
# Training progress bars go to log files: one update every 10 s instead of one per
# iteration (tqdm reads TQDM_* variables; a value set by the user wins).
os.environ.setdefault("TQDM_MININTERVAL", "10")


# config/config.yaml describes the paper. A file given with --configfile (such as
# config/demo.yaml) is a complete configuration that replaces it; --config key=value
# overrides single keys of either.
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config/config.yaml")


validate(config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml"))


# `snakemake --report report.html` (or .zip): this description, every figure, the demo GIF
# and the reproduction report, each with its caption (workflow/report/).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/mcmaze.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/controls.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        rules.all_figures.input,
