# Recordings -> per-session .npz files.


if config.get("simulate"):

    rule simulate_recording:
        """Offline demo: simulate a centre-out session as a raw TrialData file."""
        output:
            f"{DATA_DIR}/{{monkey}}_CO_{{date}}_sim.mat",
        log:
            f"{RESULTS}/logs/simulate/{{monkey}}_{{date}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/simulate/{{monkey}}_{{date}}.tsv"
        conda:
            "../../envs/data.yaml"
        params:
            spec=lambda w: PLAN.simulated[(w.monkey, w.date)],
        script:
            "../scripts/simulate_recording.py"


if PLAN.missing_recordings():

    # Downloads run where Snakemake runs: compute nodes are often offline.
    localrules:
        fetch_recordings,

    rule fetch_recordings:
        """Download the configured recordings that are absent, and verify them."""
        output:
            [str(p) for p in PLAN.missing_recordings()],
        log:
            f"{RESULTS}/logs/fetch_recordings.log",
        benchmark:
            f"{RESULTS}/benchmarks/fetch_recordings.tsv"
        conda:
            "../../envs/data.yaml"
        script:
            "../scripts/fetch_recordings.py"


rule ingest_session:
    """Read one area of a recording (either layout, either container) into the session contract."""
    input:
        recording=recording_of,
    output:
        f"{RESULTS}/sessions/{{monkey}}_{{date}}_{{area}}.npz",
    log:
        f"{RESULTS}/logs/ingest/{{monkey}}_{{date}}_{{area}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ingest/{{monkey}}_{{date}}_{{area}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        t_dur=lambda w: PLAN.t_dur(session_key(w)),
        train_fraction=config["train_fraction"],
        bin_size_s=config["bin_size_s"],
        smoothing=config["smoothing"],
    script:
        "../scripts/ingest_session.py"
