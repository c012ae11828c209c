"""Rule mcmaze_sessions (Fig8): one NWB load -> one session file per condition set."""

from ner_repro.core import jobs
from ner_repro.data import mcmaze


def main(smk):
    mcmaze.write_sessions(
        smk.input.nwb,
        smk.params.sessions,
        smk.params.condition_sets or {},
        smk.output.table,
        bin_ms=int(smk.params.bin_ms),
        smooth_ms=float(smk.params.smooth_ms),
        window_ms=[int(v) for v in smk.params.window_ms],
        train_fraction=float(smk.params.train_fraction),
    )


jobs.run(snakemake, main)
