"""Rule shuffled_label_control: decoding of real- vs shuffled-label embeddings."""

from ner_repro.analysis import steps as analyses
from ner_repro.core import jobs


def main(smk):
    table = analyses.shuffled_label_control(
        list(smk.input), smk.output[0], labels=list(smk.params.labels)
    )
    print(table.to_string(index=False))


jobs.run(snakemake, main)
