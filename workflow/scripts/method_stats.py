"""Rule method_stats (Fig5-7 statistics)."""

from ner_repro.analysis import steps as analyses
from ner_repro.core import jobs


def main(smk):
    analyses.method_stats(
        smk.input, smk.output[0], methods=smk.params.methods, decoder=smk.wildcards.decoder
    )


jobs.run(snakemake, main)
