"""Rule fetch_recordings: download every absent recording and verify its checksum."""

from pathlib import Path

from ner_repro.core import jobs
from ner_repro.data import acquire


def main(smk):
    manifest = acquire.read_manifest()
    targets = {Path(p): manifest.get(Path(p).name) for p in smk.output}
    for path in acquire.fetch(targets):
        print(f"fetched {path}")


jobs.run(snakemake, main)
