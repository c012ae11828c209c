# Sessions -> embeddings, one job per method, session and seed.

TRAIN_TARGETS = PLAN.embeddings(sorted(config["methods"]), PLAN.sessions())


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
