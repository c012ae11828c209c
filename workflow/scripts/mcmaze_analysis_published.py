"""Rule mcmaze_analysis_published (Fig8): the same decoding of the authors' embedding."""

from ner_repro.analysis import mcmaze as mcmaze_analysis
from ner_repro.core import jobs


def main(smk):
    mcmaze_analysis.analyse_published(
        smk.input.published,
        smk.output.npz,
        smk.output.csv,
        method=smk.wildcards.method,
        set_name=smk.wildcards.mcset,
        kind=smk.params.kind,
        label=smk.params.label,
    )


jobs.run(snakemake, main)
