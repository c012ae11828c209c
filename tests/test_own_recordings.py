"""One's own recordings through the workflow: the file layout and config entries of the
docs/own-data.md ("Your own recordings in the workflow"), on a simulated dataset the paper's config
does not have, with the targets `embeddings` and `decoding`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.io
import yaml

from ner_repro.core.embedding import EmbeddingRun
from ner_repro.synthetic.reaching import SimulatedSession, simulate_session
from tests.workflow_helpers import snakemake

T_DUR = 40


def write_recording(folder, monkey: str, date: str, seed: int) -> None:
    """A pre-smoothed recording as a user would save it from MATLAB or Python:
    neural_M1 (bins x neurons), continuous_index (bins x 2 hand velocity), discrete_index
    (bins x 1 target direction in degrees), t_dur."""
    spec = SimulatedSession(monkey, date, {"M1": 30}, 50, seed=seed, baseline_rate_hz=20.0)
    session, _ = simulate_session(spec, "M1", t_dur=T_DUR)
    angle = session.labels[:, 2:3]
    scipy.io.savemat(
        folder / f"{monkey}_{date}_neural_con_dis_index.mat",
        {
            "neural_M1": session.neural,
            "continuous_index": session.labels[:, :2] / 10.0,  # the file holds plain velocity
            "discrete_index": np.where(angle > 180, angle - 360, angle),  # degrees in [-180, 180]
            "t_dur": T_DUR,
        },
    )


def test_own_recordings_train_and_decode_without_figures(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for i, date in enumerate(("20250301", "20250302")):
        write_recording(recordings, "Zara", date, seed=10 + i)
    config = {
        "data_dir": str(recordings),
        "results_dir": str(tmp_path / "results"),
        "seeds": [0],
        "datasets": {
            "Zara2025": {
                "monkey": "Zara",
                "dates": [20250301, 20250302],
                "areas": ["M1"],
                "t_dur": T_DUR,
            }
        },
        "methods": {
            "NER": {"kind": "ner", "max_iterations": 150, "learning_rate": 1.0e-3},
            "PCA": {"kind": "pca"},
        },
        "figures": {},
    }
    configfile = tmp_path / "my_recordings.yaml"
    configfile.write_text(yaml.safe_dump(config))
    snakemake(
        ["--cores", "2", "embeddings", "decoding"], configfile=str(configfile), workdir=tmp_path
    )
    results = tmp_path / "results"
    for method in ("NER", "PCA"):
        for date in ("20250301", "20250302"):
            run = EmbeddingRun.load(results / "embeddings" / method / f"Zara_{date}_M1_seed0.npz")
            assert run.session == f"Zara_{date}_M1" and run.t_dur == T_DUR
        table = pd.read_csv(
            results
            / "analysis"
            / "explained_variance"
            / "Zara2025_M1"
            / f"{method}_corrected_seed0.csv"
        )
        assert set(table["test_session"]) == {"Zara_20250301_M1", "Zara_20250302_M1"}
        assert set(table["split"]) == {"train", "test"}
        assert {"vel_R2", "pos_R2"} <= set(table["metric"])
