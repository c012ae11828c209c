"""Rule simulate_recording: write one simulated TrialData session (offline demo)."""

from pathlib import Path

from ner_repro.core import jobs
from ner_repro.synthetic.reaching import write_session


def main(smk):
    path = write_session(smk.params.spec, Path(smk.output[0]).parent)
    assert str(path) == smk.output[0], (path, smk.output[0])
    print(f"simulated {smk.params.spec}")


jobs.run(snakemake, main)
