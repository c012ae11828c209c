"""Rule fetch_published_figures: download the authors' published panels that are absent."""

from ner_repro.core import jobs
from ner_repro.data import acquire
from ner_repro.plan.report import published_figure_targets


def main(smk):
    targets = published_figure_targets(smk.output, smk.params.folder)
    for path in acquire.fetch(targets):
        print(f"fetched {path}")


jobs.run(snakemake, main)
