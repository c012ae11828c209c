"""Naming and locating recording files (kept free of heavy imports: the workflow's
planning step uses it on every invocation)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ner_repro.core.errors import InputError

NER_PATTERN = re.compile(r"^(?P<monkey>[A-Za-z]+)_(?P<date>\d{8})_neural_con_dis_index\.mat$")
RAW_PATTERN = re.compile(r"^(?P<monkey>[A-Za-z]+)_CO_(?P<date>\d{8})_.*\.mat$")


def ner_filename(monkey: str, date: str | int) -> str:
    return f"{monkey}_{date}_neural_con_dis_index.mat"


def find_recording(data_dir: str | os.PathLike[str], monkey: str, date: str | int) -> Path | None:
    """The recording of ``(monkey, date)`` in ``data_dir``: the pre-smoothed NER file if
    present, else a raw TrialData file ``<Monkey>_CO_<date>_*.mat``; ``None`` if neither."""
    data_dir = Path(data_dir)
    ner = data_dir / ner_filename(monkey, date)
    if ner.is_file():
        return ner
    raw = sorted(data_dir.glob(f"{monkey}_CO_{date}_*.mat"))
    return raw[0] if raw else None


def parse_filename(path: str | os.PathLike[str]) -> tuple[str, str, str]:
    """``(monkey, date, layout)`` from a recording's file name; layout is ``ner`` or ``trialdata``."""
    name = Path(path).name
    for layout, pattern in (("ner", NER_PATTERN), ("trialdata", RAW_PATTERN)):
        match = pattern.match(name)
        if match:
            return match["monkey"], match["date"], layout
    raise InputError(
        path,
        "file name matches neither <Monkey>_<YYYYMMDD>_neural_con_dis_index.mat "
        "nor <Monkey>_CO_<YYYYMMDD>_*.mat",
    )
