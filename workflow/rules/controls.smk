# Controls: optional targets of their own (`snakemake controls`); the report shows them
# when they are configured (config `controls`). The plan decides the files
# (ner_repro.plan.Plan.shuffled_control); this file only declares the rules.
SHUFFLED_CONTROL = PLAN.shuffled_control()
CONTROL_OUTPUTS = [SHUFFLED_CONTROL["csv"]] if SHUFFLED_CONTROL else []


rule controls:
    """Every configured control (none when `controls` is empty)."""
    input:
        CONTROL_OUTPUTS,


if SHUFFLED_CONTROL:

    rule shuffled_label_control:
        """Each method and its twin trained on shuffled labels, decoded on the example session."""
        input:
            SHUFFLED_CONTROL["embeddings"],
        output:
            SHUFFLED_CONTROL["csv"],
        log:
            f"{RESULTS}/logs/controls/shuffled_labels.log",
        benchmark:
            f"{RESULTS}/benchmarks/controls/shuffled_labels.tsv"
        conda:
            "../../envs/analysis.yaml"
        threads: 1
        params:
            labels=SHUFFLED_CONTROL["labels"],
        script:
            "../scripts/shuffled_label_control.py"
