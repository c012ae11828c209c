"""Rule rotate_to_anchor (Fig3/6/7 rotation panels)."""

from ner_repro.analysis import steps as analyses
from ner_repro.core import jobs


def main(smk):
    analyses.rotate_to_anchor(
        smk.input.runs, smk.input.anchor, smk.output[0], mode=smk.wildcards.mode
    )


jobs.run(snakemake, main)
