# Embeddings -> decoding and alignment analyses (tidy CSV tables and .npz for figures),
# for either evaluation mode (METHODS §6; see docs/sources.md).


rule explained_variance:
    """Fig4: decoders fit on each session's training split, scored in-sample and on test."""
    input:
        group_embeddings,
    output:
        csv=f"{RESULTS}/analysis/explained_variance/{{group}}/{{method}}_{{mode}}_seed{{seed}}.csv",
        npz=f"{RESULTS}/analysis/explained_variance/{{group}}/{{method}}_{{mode}}_seed{{seed}}.npz",
    log:
        f"{RESULTS}/logs/explained_variance/{{group}}/{{method}}_{{mode}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/explained_variance/{{group}}/{{method}}_{{mode}}_seed{{seed}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    script:
        "../scripts/explained_variance.py"


rule cross_decode:
    """Fig5-7: self- and cross-session decoding matrices of one method (linear or kNN)."""
    input:
        group_embeddings,
    output:
        csv=f"{RESULTS}/analysis/crossdecode/{{group}}/{{method}}_{{decoder}}_{{mode}}_seed{{seed}}.csv",
        npz=f"{RESULTS}/analysis/crossdecode/{{group}}/{{method}}_{{decoder}}_{{mode}}_seed{{seed}}.npz",
    log:
        f"{RESULTS}/logs/crossdecode/{{group}}/{{method}}_{{decoder}}_{{mode}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/crossdecode/{{group}}/{{method}}_{{decoder}}_{{mode}}_seed{{seed}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    # One thread: two jobs at a time keep both cores busy through each job's start-up.
    threads: 1
    script:
        "../scripts/cross_decode.py"


rule method_stats:
    """Paired tests between the methods of a cross-decoding figure (diagonal, off-diagonal)."""
    input:
        lambda w: [
            PLAN.crossdecode(w.group, m, w.decoder, w.mode, int(w.seed), ext="csv")
            for m in stats_methods(w)
        ],
    output:
        f"{RESULTS}/analysis/stats/{{group}}/{{decoder}}_{{mode}}_seed{{seed}}.csv",
    log:
        f"{RESULTS}/logs/stats/{{group}}/{{decoder}}_{{mode}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/stats/{{group}}/{{decoder}}_{{mode}}_seed{{seed}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        methods=stats_methods,
    script:
        "../scripts/method_stats.py"


rule rotate_to_anchor:
    """Fig3/6/7: each session's embedding rotated onto an anchor's direction averages."""
    input:
        runs=group_embeddings,
        anchor=anchor_embedding,
    output:
        f"{RESULTS}/analysis/alignment/{{group}}/{{method}}_to_{{anchor}}_{{mode}}_seed{{seed}}.npz",
    log:
        f"{RESULTS}/logs/alignment/{{group}}/{{method}}_to_{{anchor}}_{{mode}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/alignment/{{group}}/{{method}}_to_{{anchor}}_{{mode}}_seed{{seed}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/rotate_to_anchor.py"


rule insample_decoding:
    """Fig1: in-sample decoding of one run (per-axis R², OLS p-values, positions)."""
    input:
        f"{RESULTS}/embeddings/{{method}}/{{session}}_seed{{seed}}.npz",
    output:
        npz=f"{RESULTS}/analysis/insample/{{session}}/{{method}}_seed{{seed}}.npz",
        csv=f"{RESULTS}/analysis/insample/{{session}}/{{method}}_seed{{seed}}.csv",
    log:
        f"{RESULTS}/logs/insample/{{session}}/{{method}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/insample/{{session}}/{{method}}_seed{{seed}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/insample_decoding.py"


rule decoding:
    """The decoding table of every method on every dataset and area (no figures)."""
    input:
        PLAN.all_decoding(),
