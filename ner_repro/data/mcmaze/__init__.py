"""MC_Maze (DANDI 000128, monkey Jenkins) for Fig 8: NWB file -> trial windows -> condition sets.

Three modules, in the order the data flow through them:

* :mod:`~ner_repro.data.mcmaze.conditions`: the condition sets (maze types and versions) and the
  constants of the authors' protocol (5-ms bins, 50-ms smoothing, the -50..450 ms window);
* :mod:`~ner_repro.data.mcmaze.nwb`: the NWB file read as ``nlb_tools`` reads it (1-ms spike
  bins, 5-ms resampling, smoothing, trial windows, bad trials dropped and counted):
  :func:`load_mcmaze` -> :class:`MazeRecording`;
* :mod:`~ner_repro.data.mcmaze.sessions`: one condition set of a recording made into the
  per-session contract (:func:`condition_set`) and written as a session file
  (:func:`write_sessions`).

The names below are re-exported so that ``from ner_repro.data import mcmaze`` reaches them all.
"""

from ner_repro.data.mcmaze.conditions import (
    AREA,
    MCMAZE_BIN_MS,
    MONKEY,
    PAPER_CONDITION_SETS,
    SESSION_PREFIX,
    SMOOTH_MS,
    WINDOW_MS,
    ConditionSet,
    condition_sets_from_config,
    paper_condition_sets,
)
from ner_repro.data.mcmaze.nwb import MazeRecording, gaussian_kernel, load_mcmaze, smooth_windows
from ner_repro.data.mcmaze.sessions import condition_set, session_name, set_of, write_sessions

__all__ = [
    "AREA",
    "MCMAZE_BIN_MS",
    "MONKEY",
    "PAPER_CONDITION_SETS",
    "SESSION_PREFIX",
    "SMOOTH_MS",
    "WINDOW_MS",
    "ConditionSet",
    "MazeRecording",
    "condition_set",
    "condition_sets_from_config",
    "gaussian_kernel",
    "load_mcmaze",
    "paper_condition_sets",
    "session_name",
    "set_of",
    "smooth_windows",
    "write_sessions",
]
