# MC_Maze (Fig8): NWB file -> one session per condition set -> (train_embedding) ->
# in-sample decoding per method and set. Without the NWB file the same decoding is run
# on the authors' published embeddings. The logic lives in ner_repro.plan.figures.fig8 (paths),
# ner_repro.data.mcmaze (sessions) and ner_repro.analysis.mcmaze (decoding).
from ner_repro.plan.figures import fig8 as FIG8

MCMAZE = config.get("mcmaze") or {}
MCMAZE_SESSIONS = FIG8.session_paths(PLAN) if MCMAZE else {}


if MCMAZE.get("synthetic"):

    rule mcmaze_synthetic_nwb:
        """Offline demo: write a small synthetic MC_Maze-like NWB file where the real one goes."""
        output:
            MCMAZE["nwb"],
        log:
            f"{RESULTS}/logs/mcmaze/synthetic_nwb.log",
        benchmark:
            f"{RESULTS}/benchmarks/mcmaze/synthetic_nwb.tsv"
        conda:
            "../../envs/data.yaml"
        params:
            synthetic=MCMAZE["synthetic"],
        script:
            "../scripts/mcmaze_synthetic_nwb.py"


if MCMAZE:

    rule mcmaze_sessions:
        """Load the NWB file once and write one session per condition set (+ a trial table)."""
        input:
            nwb=MCMAZE["nwb"],
        output:
            sessions=[str(p) for p in MCMAZE_SESSIONS.values()],
            table=str(FIG8.sets_table(PLAN)),
        log:
            f"{RESULTS}/logs/mcmaze/sessions.log",
        benchmark:
            f"{RESULTS}/benchmarks/mcmaze/sessions.tsv"
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=16000,
        params:
            sessions={k: str(v) for k, v in MCMAZE_SESSIONS.items()},
            condition_sets=MCMAZE.get("condition_sets"),
            bin_ms=MCMAZE.get("bin_ms", 5),
            smooth_ms=MCMAZE.get("smooth_ms", 50),
            window_ms=MCMAZE.get("window_ms", [-50, 450]),
            train_fraction=MCMAZE.get("train_fraction", 0.8),
        script:
            "../scripts/mcmaze_sessions.py"

    rule mcmaze_analysis:
        """Fig8: train-set decoding and trial-averaged latents of a run trained here."""
        input:
            embedding=f"{RESULTS}/embeddings/{{method}}/MCMaze_{{mcset}}_seed{{seed}}.npz",
            session=f"{RESULTS}/sessions/MCMaze_{{mcset}}.npz",
        output:
            npz=f"{RESULTS}/analysis/mcmaze/MCMaze_{{mcset}}/{{method}}_seed{{seed}}.npz",
            csv=f"{RESULTS}/analysis/mcmaze/MCMaze_{{mcset}}/{{method}}_seed{{seed}}.csv",
        log:
            f"{RESULTS}/logs/mcmaze/MCMaze_{{mcset}}/{{method}}_seed{{seed}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/mcmaze/MCMaze_{{mcset}}/{{method}}_seed{{seed}}.tsv"
        wildcard_constraints:
            mcset=r"[A-Za-z0-9-]+",
        conda:
            "../../envs/analysis.yaml"
        params:
            label=lambda w: PLAN.label(w.method),
        script:
            "../scripts/mcmaze_analysis.py"

    rule mcmaze_analysis_published:
        """Fig8 without the NWB file: the same decoding of the authors' published embedding."""
        input:
            published=lambda w: str(FIG8.published_input(PLAN, w.mcset, w.method)),
        output:
            npz=f"{RESULTS}/analysis/mcmaze/MCMaze_{{mcset}}/{{method}}_published.npz",
            csv=f"{RESULTS}/analysis/mcmaze/MCMaze_{{mcset}}/{{method}}_published.csv",
        log:
            f"{RESULTS}/logs/mcmaze/MCMaze_{{mcset}}/{{method}}_published.log",
        benchmark:
            f"{RESULTS}/benchmarks/mcmaze/MCMaze_{{mcset}}/{{method}}_published.tsv"
        wildcard_constraints:
            mcset=r"[A-Za-z0-9-]+",
        conda:
            "../../envs/analysis.yaml"
        params:
            label=lambda w: PLAN.label(w.method),
            kind=lambda w: PLAN.kind(w.method),
        script:
            "../scripts/mcmaze_analysis_published.py"
