"""Rule cross_decode (Fig5-7)."""

from ner_repro.analysis import steps as analyses
from ner_repro.core import jobs


def main(smk):
    analyses.cross_decode(
        smk.input,
        smk.output.csv,
        smk.output.npz,
        mode=smk.wildcards.mode,
        decoder=smk.wildcards.decoder,
        group=smk.wildcards.group,
        n_jobs=smk.threads,
    )


jobs.run(snakemake, main)
