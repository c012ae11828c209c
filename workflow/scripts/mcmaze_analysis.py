"""Rule mcmaze_analysis (Fig8): decoding of a run trained here on one condition set."""

from ner_repro import fig8, jobs


def main(smk):
    fig8.analyse_trained(
        smk.input.embedding,
        smk.input.session,
        smk.output.npz,
        smk.output.csv,
        set_name=smk.wildcards.mcset,
        label=smk.params.label,
    )


jobs.run(snakemake, main)
