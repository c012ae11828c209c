"""Rule mcmaze_synthetic_nwb (offline demo): a small synthetic MC_Maze-like NWB file."""

from ner_repro.core import jobs
from ner_repro.synthetic.nwb import write_synthetic_nwb


def main(smk):
    spec = dict(smk.params.synthetic)
    path = write_synthetic_nwb(
        smk.output[0],
        seed=int(spec.get("seed", 0)),
        n_trials=int(spec.get("n_trials", 240)),
        n_units=int(spec.get("n_units", 48)),
    )
    print(f"synthetic MC_Maze-like NWB ({spec}) -> {path}")


jobs.run(snakemake, main)
