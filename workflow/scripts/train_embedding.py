"""Rule train_embedding: one method on one session and seed -> results/embeddings/..."""

import torch  # noqa: F401 - imported first so that jobs.run sets its thread count

from ner_repro.core import jobs
from ner_repro.core.session import SessionData
from ner_repro.methods import run_method


def main(smk):
    session = SessionData.load(smk.input.session)
    run = run_method(
        session,
        method=smk.wildcards.method,
        spec=dict(smk.params.spec),
        seed=int(smk.wildcards.seed),
        device=smk.params.device,
        progress=True,
    )
    run.save(smk.output[0])
    print(
        f"{run.method} on {run.session}, seed {run.seed}: train {run.train.shape}, test {run.test.shape}"
    )


jobs.run(snakemake, main)
