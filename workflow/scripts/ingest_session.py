"""Rule ingest_session: one area of one recording -> results/sessions/{session}.npz."""

from ner_repro.core import jobs
from ner_repro.data import acquire
from ner_repro.data.ingest import Smoothing, read_session


def main(smk):
    acquire.verify(smk.input.recording)  # a checksum mismatch with the manifest is an error
    session = read_session(
        smk.input.recording,
        smk.wildcards.area,
        t_dur=smk.params.t_dur,
        train_fraction=smk.params.train_fraction,
        smoothing=Smoothing(**smk.params.smoothing),
        bin_size_s=smk.params.bin_size_s,
        monkey=smk.wildcards.monkey,
        date=smk.wildcards.date,
    )
    session.save(smk.output[0])
    print(
        f"{session.name}: {session.n_trials} trials x {session.t_dur} bins, {session.neural.shape[1]} neurons"
    )


jobs.run(snakemake, main)
