#!/usr/bin/env python3
"""Build the reproduction report of a run that is still going (or stopped part way).

The workflow's ``report`` rule waits for every analysis of every seed; this command writes the
same report (``report.md``, ``report.html``, ``comparison.csv``, ``run.json``) from the outputs
that exist now, listing the absent ones, so that ``make record REPORT_DIR=<results>/report-now``
can show a run in progress. It reads the configuration as Snakemake would:
``config/config.yaml`` or the ``--configfile`` files, then ``--config key=value`` overrides
(values parsed as YAML).

It writes into ``<results>/report-now/``, not into the report rule's ``<results>/report/``:
Snakemake does not rebuild the missing inputs of a target whose outputs are present and newer
than the inputs that exist, so a partial report in the rule's place would make a resumed run
stop with "Nothing to be done". ``--out`` chooses another folder (the rule's own once the run
has ended, to rebuild its report with newer report code).

Usage::

    python tools/report_now.py [--configfile FILE ...] [--config key=value ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

from ner_repro import report
from ner_repro.core.config import load_config
from ner_repro.core.errors import InputError
from ner_repro.plan import Plan
from ner_repro.plan.report import report_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", help="the folder to write (default <results_dir>/report-now)")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--config {item!r}: expected key=value")
        overrides[key] = yaml.safe_load(value)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        plan = Plan(load_config(*args.configfile, overrides=overrides)).check()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else Path(plan.results) / "report-now"
    files = {key: str(out / Path(path).name) for key, path in report_outputs(plan).items()}
    report.write_report(plan, files["md"], files["html"], files["csv"], run_json=files["run"])
    print(f"wrote {', '.join(files.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
