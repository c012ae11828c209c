# Sessions -> embeddings, one job per method, session and seed.

TRAIN_TARGETS = PLAN.embeddings(sorted(config["methods"]), PLAN.sessions())
# Stamp of rule compile_umap (in the results, also when NUMBA_CACHE_DIR points elsewhere).
UMAP_COMPILED = f"{RESULTS}/numba-cache/umap.compiled"


rule compile_umap:
    """Compile umap-learn and pynndescent once, into numba's on-disk cache, before the UMAP jobs."""
    output:
        UMAP_COMPILED,
    log:
        f"{RESULTS}/logs/train/compile_umap.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/compile_umap.tsv"
    # Early, so that the UMAP jobs need not wait for it at the end of a run.
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
        compiled=compiled_for,
    output:
        f"{RESULTS}/embeddings/{{method}}/{{session}}_seed{{seed}}.npz",
    log:
        f"{RESULTS}/logs/train/{{method}}/{{session}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{method}}/{{session}}_seed{{seed}}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: int(config["train_threads"])
    resources:
        gpu=gpu_for,
        mem_mb=4000,
        runtime=240,
    params:
        spec=lambda w: PLAN.method_spec(w.method),
        device=TRAIN_DEVICE,
        checkpoint=lambda w: f"{RESULTS}/checkpoints/{w.method}/{w.session}_seed{w.seed}.pt",
    script:
        "../scripts/train_embedding.py"
