"""Rule insample_decoding (Fig1)."""

from ner_repro.analysis import steps as analyses
from ner_repro.core import jobs


def main(smk):
    analyses.insample(smk.input[0], smk.output.npz, smk.output.csv)


jobs.run(snakemake, main)
