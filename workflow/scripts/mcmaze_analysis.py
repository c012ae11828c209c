"""Rule mcmaze_analysis (Fig8): decoding of a run trained here on one condition set."""

from ner_repro.analysis import mcmaze as mcmaze_analysis
from ner_repro.core import jobs


def main(smk):
    mcmaze_analysis.analyse_trained(
        smk.input.embedding,
        smk.input.session,
        smk.output.npz,
        smk.output.csv,
        set_name=smk.wildcards.mcset,
        label=smk.params.label,
    )


jobs.run(snakemake, main)
