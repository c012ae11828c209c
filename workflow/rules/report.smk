# The reproduction report: every published number (resources/published_numbers.tsv)
# next to ours in both evaluation modes and over all seeds, with a verdict per row.
# The logic lives in ner_repro.report, the files in ner_repro.plan.report; this file only
# declares the rule. Included before figures.smk, whose all_figures rule lists REPORT_OUTPUTS.
from ner_repro.plan import report as REPORT

REPORT_FILES = REPORT.report_outputs(RESULTS)
REPORT_OUTPUTS = list(REPORT_FILES.values())


rule report:
    """The reproduction report: published vs ours (paper and corrected modes, all seeds).
    Inputs: every analysis of both modes and all seeds, the Fig3 embeddings (losses), the
    Fig8 tables and the figure files (ner_repro.plan.report.report_inputs)."""
    input:
        unpack(lambda w: REPORT.report_inputs(PLAN)),
    output:
        md=reproduction_report_file(REPORT_FILES["md"], "Markdown"),
        html=reproduction_report_file(REPORT_FILES["html"], "HTML (figures embedded)"),
        csv=reproduction_report_file(REPORT_FILES["csv"], "comparison table (CSV)"),
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    script:
        "../scripts/report.py"
