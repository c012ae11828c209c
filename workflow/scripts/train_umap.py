"""Rule train_umap: every UMAP method and seed on one session -> results/embeddings/...

One process for all of them: numba compiles pynndescent's NN-descent (which its on-disk
cache cannot hold) once, not once per fit.
"""

from ner_repro.core import jobs
from ner_repro.core.session import SessionData
from ner_repro.methods import run_method


def main(smk):
    session = SessionData.load(smk.input.session)
    runs = list(smk.params.runs)
    for i, (run_spec, out) in enumerate(zip(runs, smk.output, strict=True), 1):
        print(f"[{i}/{len(runs)}] {run_spec['method']} seed {run_spec['seed']}", flush=True)
        run = run_method(
            session,
            method=run_spec["method"],
            spec=dict(run_spec["spec"]),
            seed=int(run_spec["seed"]),
            device=smk.params.device,
            progress=True,
        )
        run.save(out)
        print(
            f"{run.method} on {run.session}, seed {run.seed}: train {run.train.shape}, "
            f"test {run.test.shape}, {run.meta['wall_time_s']:.1f} s",
            flush=True,
        )


jobs.run(snakemake, main)
