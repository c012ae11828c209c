# Reproduction of "Neural Embeddings Rank" (NeurIPS 2024): from the published MATLAB
# recordings to every figure of the paper. See README.md.
from snakemake.utils import min_version, validate

min_version("9.0")


# config/config.yaml describes the paper. A file given with --configfile (such as
# config/demo.yaml) is a complete configuration that replaces it; --config key=value
# overrides single keys of either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        rules.all_figures.input,
