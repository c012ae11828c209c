"""Rule explained_variance (Fig4)."""

from ner_repro.analysis import steps as analyses
from ner_repro.core import jobs


def main(smk):
    analyses.explained_variance(
        smk.input,
        smk.output.csv,
        smk.output.npz,
        mode=smk.wildcards.mode,
        group=smk.wildcards.group,
        n_jobs=smk.threads,
    )


jobs.run(snakemake, main)
