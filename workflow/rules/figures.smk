# Analyses -> figure PDFs and the demo GIF, one papermill-executed notebook per
# figure target. The executed notebook is kept as the rule's log.


for _spec in FIGURE_SPECS.values():
    if not Path(_spec.notebook).is_file():
        continue

    rule:
        name:
            f"render_{_spec.name}"
        input:
            notebook=_spec.notebook,
            code=_spec.code,
            data=_spec.all_inputs(),
        output:
            figure_report_outputs(_spec),
        log:
            notebook=f"{RESULTS}/logs/figures/{_spec.name}.ipynb",
            text=f"{RESULTS}/logs/figures/{_spec.name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/figures/{_spec.name}.tsv"
        conda:
            "../../envs/figures.yaml"
        threads: 1
        params:
            spec=_spec,
        script:
            "../scripts/render_figure.py"


rule fig1:
    """Fig1: NER vs CEBRA on the example session (loss, embedding, decoding)."""
    input:
        figure_outputs("fig1"),


rule fig2:
    """Fig2: single-trial and trial-averaged NER embedding of the example session."""
    input:
        figure_outputs("fig2"),


rule fig3:
    """Fig3: M1 embeddings of every method before and after alignment."""
    input:
        figure_outputs("fig3"),


rule fig4:
    """Fig4: explained variance and direction accuracy over time (M1, PMd, S1)."""
    input:
        figure_outputs("fig4"),


rule fig5:
    """Fig5: M1 self- and cross-session decoding matrices and accuracy curves."""
    input:
        figure_outputs("fig5"),


rule fig6:
    """Fig6: PMd embeddings and PMd/M1 decoding matrices."""
    input:
        figure_outputs("fig6"),


rule fig7:
    """Fig7: S1 embeddings and decoding matrices."""
    input:
        figure_outputs("fig7"),


rule fig8:
    """Fig8: MC_Maze straight vs curved reaches (NER, with the CEBRA supplement)."""
    input:
        figure_outputs("fig8"),


rule demo_gif:
    """The demo GIF: hand velocity next to the rotating 3D latent trajectory."""
    input:
        figure_outputs("demo_gif"),


rule all_figures:
    """Every figure, the GIF and the reproduction report."""
    input:
        [path for name in FIGURE_SPECS for path in figure_outputs(name)],
        REPORT_OUTPUTS,
