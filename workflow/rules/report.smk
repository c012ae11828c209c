# The reproduction report: every published number (resources/published_numbers.tsv)
# next to ours in both evaluation modes and over all seeds, with a verdict per row.
# The logic lives in ner_repro.report, the files in ner_repro.plan.report; this file only
# declares the rule. Included before figures.smk, whose all_figures rule lists REPORT_OUTPUTS.
from ner_repro.plan import report as REPORT

REPORT_FILES = REPORT.report_outputs(RESULTS)
REPORT_OUTPUTS = list(REPORT_FILES.values())
MISSING_PANELS = REPORT.missing_published_figures(PLAN)


if MISSING_PANELS:

    # Downloads run where Snakemake runs: compute nodes are often offline.
    localrules:
        fetch_published_figures,

    rule fetch_published_figures:
        """Download the authors' published figure panels that are absent, and verify them."""
        output:
            [str(p) for p in MISSING_PANELS],
        log:
            f"{RESULTS}/logs/fetch_published_figures.log",
        benchmark:
            f"{RESULTS}/benchmarks/fetch_published_figures.tsv"
        conda:
            "../../envs/analysis.yaml"
        params:
            folder=config.get("published_figures_dir"),
        script:
            "../scripts/fetch_published_figures.py"


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
        run=REPORT_FILES["run"],
    log:
        f"{RESULTS}/logs/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    script:
        "../scripts/report.py"
