"""Rule insample_decoding (Fig1)."""

from ner_repro import analyses, jobs


def main(smk):
    analyses.insample(smk.input[0], smk.output.npz, smk.output.csv)


jobs.run(snakemake, main)
