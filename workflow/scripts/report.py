"""Rule report: the reproduction report (report.md, report.html, comparison.csv)."""

from ner_repro import report
from ner_repro.core import jobs
from ner_repro.plan import Plan


def main(smk):
    inputs = {
        name: [files] if isinstance(files, str) else list(files)
        for name, files in smk.input.items()
    }
    report.write_report(
        Plan(smk.config),
        smk.output.md,
        smk.output.html,
        smk.output.csv,
        run_json=smk.output.run,
        published=smk.input.published[0]
        if not isinstance(smk.input.published, str)
        else smk.input.published,
        inputs=inputs,
    )


jobs.run(snakemake, main)
