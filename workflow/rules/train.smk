# Sessions -> embeddings: one job per method, session and seed, except UMAP: one job per
# session fits every UMAP method and seed of it (rule train_umap), so that numba compiles
# NN-descent once per job rather than once per fit.

UMAP_METHODS = PLAN.methods_of_kind("umap")
#: (method, seed) of every UMAP fit of a session, in the order of rule train_umap's outputs.
UMAP_RUNS = [(m, s) for m in UMAP_METHODS for s in PLAN.seeds_for(m)]
# Stamp of rule compile_umap (in the results, also when NUMBA_CACHE_DIR points elsewhere).
UMAP_COMPILED = f"{RESULTS}/numba-cache/umap.compiled"


rule compile_umap:
    """Compile umap-learn and pynndescent once, into numba's on-disk cache, before the UMAP jobs."""
    input:
        # ancient: the sessions only say which sizes to compile for; a session built again
        # does not make the cache out of date.
        sessions=ancient([str(PLAN.session_npz(k)) for k in PLAN.sessions()]),
    output:
        UMAP_COMPILED,
    log:
        f"{RESULTS}/logs/train/compile_umap.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/compile_umap.tsv"
    # Early (right after ingestion), so that the UMAP jobs need not wait for it at the end.
    priority: 10
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/compile_umap.py"


rule train_embedding:
    """Train (or fit) one method on one session's training trials and embed train and test."""
    input:
        session=f"{RESULTS}/sessions/{{session}}.npz",
    output:
        f"{RESULTS}/embeddings/{{method}}/{{session}}_seed{{seed}}.npz",
    log:
        f"{RESULTS}/logs/train/{{method}}/{{session}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{method}}/{{session}}_seed{{seed}}.tsv"
    wildcard_constraints:
        # UMAP methods are rule train_umap's.
        method=PLAN.method_pattern(exclude_kinds=("umap",)),
    conda:
        "../../envs/train.yaml"
    threads: int(config["train_threads"])
    resources:
        gpu=gpu_for,
        mem_mb=4000,
        runtime=240,
    params:
        spec=lambda w: PLAN.training_spec(w.method, w.session, int(w.seed)),
        device=TRAIN_DEVICE,
    script:
        "../scripts/train_embedding.py"


if UMAP_RUNS:

    rule train_umap:
        """Fit every UMAP method and seed on one session's training trials, in one process."""
        input:
            session=f"{RESULTS}/sessions/{{session}}.npz",
            # ancient: a cache compiled again does not make embeddings out of date.
            compiled=ancient(UMAP_COMPILED),
        output:
            [f"{RESULTS}/embeddings/{m}/{{session}}_seed{s}.npz" for m, s in UMAP_RUNS],
        log:
            f"{RESULTS}/logs/train/umap/{{session}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/train/umap/{{session}}.tsv"
        conda:
            "../../envs/train.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=240,
        params:
            runs=[
                {"method": m, "seed": s, "spec": PLAN.method_spec(m)}
                for m, s in UMAP_RUNS
            ],
            device=TRAIN_DEVICE,
        script:
            "../scripts/train_umap.py"


rule embeddings:
    """Every configured method on every configured session and seed (no figures)."""
    input:
        PLAN.all_embeddings(),
