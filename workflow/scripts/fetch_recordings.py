"""Rule fetch_recordings: download every absent recording and verify its checksum."""

from pathlib import Path

from ner_repro import acquire, jobs


def main(smk):
    manifest = acquire.read_manifest()
    targets = {Path(p): manifest.get(Path(p).name) for p in smk.output}
    for path in acquire.fetch(targets):
        print(f"fetched {path}")


jobs.run(snakemake, main)
