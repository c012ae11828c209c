"""Rule mcmaze_analysis_published (Fig8): the same decoding of the authors' embedding."""

from ner_repro import fig8, jobs


def main(smk):
    fig8.analyse_published(
        smk.input.published,
        smk.output.npz,
        smk.output.csv,
        method=smk.wildcards.method,
        set_name=smk.wildcards.mcset,
        kind=smk.params.kind,
        label=smk.params.label,
    )


jobs.run(snakemake, main)
