"""Fig8 (MC_Maze): condition-set sessions from one NWB load, the authors' npz read into our runs,
their published train-set R² reproduced from their embeddings, the figure plan in both source
modes, and every output rendered with its provenance footer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from ner_repro.analysis import mcmaze as mcmaze_analysis
from ner_repro.core.config import load_config
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.errors import InputError
from ner_repro.core.session import SessionData
from ner_repro.data import mcmaze, published_embeddings
from ner_repro.plan import Plan
from ner_repro.plan.figures import fig8 as fig8_plan
from ner_repro.plotting import fig8 as pfig8
from ner_repro.plotting import style
from ner_repro.synthetic.nwb import write_synthetic_nwb

SETS = {
    "curve-straight-13-38-18": {"family": "curve-straight", "types": [13, 38, 18]},
    "curve-up-down-37-1-31-38-34-18": {
        "family": "curve-up-down",
        "types": [37, 1, 31, 38, 34, 18],
        "min_version": 1,
    },
    "straight-13-29-17-38-6-18": {
        "family": "straight",
        "types": [13, 29, 17, 38, 6, 18],
        "versions": [0],
    },
}
N_TRIALS, N_UNITS = 90, 10

#: spec reference/fig8-baselines.md §1.10 (docs/sources.md): (NER train vel, pos; NER test vel,
#: pos; CEBRA train vel, pos; CEBRA test vel, pos; NER PDF title; CEBRA PDF title; final loss NER,
#: CEBRA).
PUBLISHED = {
    "curve-straight_38": (
        (0.925, 0.952, 0.429, 0.138),
        (0.874, 0.943, 0.565, 0.372),
        ("vel=0.92 pos=0.95", "vel=0.87 pos=0.94"),
        (5.605, 5.470),
    ),
    "curve-straight_18": (
        (0.893, 0.959, 0.367, 0.454),
        (0.834, 0.928, 0.392, 0.467),
        ("vel=0.89 pos=0.96", "vel=0.83 pos=0.93"),
        (5.558, 5.512),
    ),
    "curve-straight_13": (
        (0.898, 0.960, 0.348, 0.160),
        (0.824, 0.936, 0.425, 0.373),
        ("vel=0.9 pos=0.96", "vel=0.82 pos=0.94"),
        (5.575, 5.499),
    ),
    "curve-straight_13-38-18": (
        (0.812, 0.914, 0.626, 0.753),
        (0.655, 0.860, 0.557, 0.798),
        ("vel=0.81 pos=0.91", "vel=0.66 pos=0.86"),
        (5.668, 5.573),
    ),
    "curve-up-down_31-38": (
        (0.867, 0.947, 0.562, 0.428),
        (0.851, 0.935, 0.579, 0.607),
        ("vel=0.87 pos=0.95", "vel=0.85 pos=0.93"),
        (5.587, 5.513),
    ),
    "curve-up-down_34-18": (
        (0.887, 0.947, 0.389, 0.307),
        (0.807, 0.920, 0.507, 0.567),
        ("vel=0.89 pos=0.95", "vel=0.81 pos=0.92"),
        (5.575, 5.526),
    ),
    "curve-up-down_37-1": (
        (0.906, 0.964, 0.219, 0.464),
        (0.851, 0.944, 0.484, 0.665),
        ("vel=0.91 pos=0.96", "vel=0.85 pos=0.94"),
        (5.574, 5.533),
    ),
    "curve-up-down_37-1-31-38-34-18": (
        (0.808, 0.908, 0.645, 0.763),
        (0.609, 0.803, 0.463, 0.652),
        ("vel=0.81 pos=0.91", "vel=0.61 pos=0.8"),
        (5.687, 5.655),
    ),
}


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nwb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fig8") / "synthetic.nwb"
    types = sorted({t for s in SETS.values() for t in s["types"]})
    return write_synthetic_nwb(path, seed=5, n_trials=N_TRIALS, n_units=N_UNITS, types=types)


@pytest.fixture(scope="module")
def sessions(nwb, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("sessions")
    paths = {name: out / f"MCMaze_{name}.npz" for name in SETS}
    mcmaze.write_sessions(nwb, paths, SETS, out / "condition_sets.csv")
    return paths


def _published(published_dir: Path, stem: str, kind: str) -> Path:
    found = published_embeddings.published_file(published_dir / "Fig8", stem, kind)
    if found is None:
        pytest.skip(f"published Fig8 file {stem} ({kind}) not found")
    return found


def _pca_run(session: SessionData, method: str) -> EmbeddingRun:
    """A stand-in for a trained run: the first 3 principal components, on the unit sphere."""
    x = session.neural - session.neural[session.is_train].mean(axis=0)
    _, _, vt = np.linalg.svd(x[session.is_train], full_matrices=False)
    emb = x @ vt[:3].T
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return EmbeddingRun(
        method=method,
        session=session.name,
        seed=0,
        train=emb[session.is_train],
        test=emb[~session.is_train],
        labels_train=session.labels[session.is_train],
        labels_test=session.labels[~session.is_train],
        t_dur=session.t_dur,
        loss=np.linspace(6, 5, 50),
        loss_name="RnC",
    )


# -- sessions -------------------------------------------------------------------------------------
def test_sessions_follow_the_condition_sets(nwb, sessions):
    rec = mcmaze.load_mcmaze(nwb)
    table = pd.read_csv(next(iter(sessions.values())).parent / "condition_sets.csv")
    for cs in mcmaze.condition_sets_from_config(SETS):
        s = SessionData.load(sessions[cs.name])
        idx = np.flatnonzero(cs.select(rec.trial_type, rec.trial_version))
        assert s.n_trials == idx.size and s.t_dur == 100
        assert s.n_train_trials == int(0.8 * idx.size)
        # labels [vx, vy, 0] of the selected trials, in recording order
        np.testing.assert_array_equal(s.labels[:, :2], rec.hand_vel[idx].reshape(-1, 2))
        assert (s.labels[:, 2] == 0).all()
        np.testing.assert_array_equal(s.neural, rec.neural[idx].reshape(-1, rec.n_units))
        per_trial = slice(None, None, 100)
        np.testing.assert_array_equal(s.extras["trial_id"][per_trial], rec.trial_id[idx])
        np.testing.assert_array_equal(s.extras["version"][per_trial], rec.trial_version[idx])
        np.testing.assert_allclose(s.extras["target_angle"][per_trial], rec.target_angle[idx])
        assert s.meta["session_id"] == f"MCMaze_{cs.name}"
        rows = table[table["set"] == cs.name]
        assert rows["n_trials"].sum() == idx.size
        assert rows["n_train"].sum() == s.n_train_trials
        assert set(rows["trial_type"]) <= set(cs.types)
        allowed = {0} if cs.versions else set(range(cs.min_version, 3))
        assert set(rows["trial_version"]) <= allowed


def test_a_set_without_path_is_refused(nwb, tmp_path):
    with pytest.raises(ValueError, match="no output path"):
        mcmaze.write_sessions(nwb, {}, SETS, tmp_path / "t.csv")


# -- the authors' npz -----------------------------------------------------------------------------
def test_published_npz_becomes_a_run(published_dir):
    path = _published(published_dir, "curve-straight_13-38-18", "ner")
    run = published_embeddings.read_published(
        path, "NER5k", "MCMaze_curve-straight-13-38-18", "ner"
    )
    with np.load(path) as raw:
        np.testing.assert_array_equal(run.train, raw["cebra_veldir_train"])
        np.testing.assert_array_equal(run.test, raw["cebra_veldir_test"])
        np.testing.assert_array_equal(run.labels_train, raw["continuous_index_train"])
        np.testing.assert_array_equal(run.extras["target_angle_test"], raw["target_angle_test"])
        np.testing.assert_array_equal(run.extras["version_train"], raw["version_index_train"])
        np.testing.assert_allclose(run.loss, raw["train_loss_stable"])
    assert run.t_dur == 100 and run.seed == published_embeddings.UNSEEDED and run.loss_name == "RnC"
    assert run.train.shape == (14900, 3) and run.test.shape == (3800, 3)
    assert run.meta["source"] == "published" and len(run.meta["published_sha256"]) == 64
    # the NER six-type file carries the _1st suffix; CEBRA's lies in Supp_Cebra
    six = "curve-up-down_37-1-31-38-34-18"
    assert _published(published_dir, six, "ner").name.endswith("_1st.npz")
    assert _published(published_dir, six, "cebra").parent.name == "Supp_Cebra"
    assert published_embeddings.published_file(published_dir / "Fig8", six, "pca") is None
    assert published_embeddings.published_file(published_dir / "Fig8", "", "ner") is None


def test_bad_published_files_are_named(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, cebra_veldir_train=np.zeros((100, 3)))
    with pytest.raises(InputError, match=r"bad\.npz: not an authors' Fig8 file"):
        published_embeddings.read_published(bad, "NER", "MCMaze_x", "ner")
    arrays = {
        "cebra_veldir_train": np.ones((200, 3)),
        "cebra_veldir_test": np.ones((100, 3)),
        "continuous_index_train": np.zeros((200, 3)),
        "continuous_index_test": np.zeros((100, 3)),
        "target_angle_train": np.r_[np.zeros(150), np.ones(50)],
        "target_angle_test": np.zeros(100),
        "version_index_train": np.zeros(200, np.int64),
        "version_index_test": np.zeros(100, np.int64),
    }
    np.savez(bad, **arrays)
    with pytest.raises(InputError, match="target_angle_train changes within a trial"):
        published_embeddings.read_published(bad, "NER", "MCMaze_x", "ner")
    arrays["target_angle_train"] = np.zeros(200)
    arrays["cebra_veldir_test"] = np.ones((150, 3))
    np.savez(bad, **arrays)
    with pytest.raises(InputError, match="continuous_index_test has 100 rows, expected 150"):
        published_embeddings.read_published(bad, "NER", "MCMaze_x", "ner")


@pytest.mark.parametrize("stem", sorted(PUBLISHED))
def test_published_r2_reproduced(published_dir, stem):
    """fig8-baselines.md §1.10 (docs/sources.md): the train-set R² of the authors' PDF titles
    (and the recomputed test R² and final losses), from their own embeddings, through the same
    analysis as our runs."""
    ner, cebra, titles, losses = PUBLISHED[stem]
    for kind, expected, title, loss in (
        ("ner", ner, titles[0], losses[0]),
        ("cebra", cebra, titles[1], losses[1]),
    ):
        run = published_embeddings.read_published(
            _published(published_dir, stem, kind), kind, "MCMaze_x", kind
        )
        a = mcmaze_analysis.analyse(run)
        got = (a["vel_r2"], a["pos_r2"], a["vel_r2_test"], a["pos_r2_test"])
        np.testing.assert_allclose(got, expected, atol=0.0006, err_msg=f"{kind} {stem}")
        assert pfig8.r2_title(a) == title
        assert a["final_loss"] == pytest.approx(loss, abs=0.0006)


# -- the analysis ---------------------------------------------------------------------------------
def test_trained_analysis_is_the_authors_decoding(sessions, tmp_path):
    name = "curve-straight-13-38-18"
    session = SessionData.load(sessions[name])
    run = _pca_run(session, "NER")
    emb_path = run.save(tmp_path / "emb.npz")
    npz, csv = tmp_path / "a.npz", tmp_path / "a.csv"
    mcmaze_analysis.analyse_trained(emb_path, sessions[name], npz, csv, set_name=name, label="NER")
    a = pfig8.load(str(npz))
    # the authors' cells, written out again: fit and score on the training bins, cumsum per trial
    vel = run.labels_train[:, :2]
    pred = LinearRegression().fit(run.train, vel).predict(run.train)
    cum = lambda v: np.cumsum(v.reshape(-1, 100, 2) / 1000, axis=1).reshape(-1, 2)  # noqa: E731
    assert float(a["vel_r2"]) == pytest.approx(r2_score(vel, pred), abs=1e-12)
    assert float(a["pos_r2"]) == pytest.approx(r2_score(cum(vel), cum(pred)), abs=1e-12)
    # trial averages per target angle: straight (v0), curved (v1+v2), all
    angle = session.extras["target_angle"][session.is_train]
    version = session.extras["version"][session.is_train]
    assert np.allclose(a["angles"], np.unique(angle.round(6)))
    traj = run.train.reshape(-1, 100, 3)
    for k, ang in enumerate(a["angles"]):
        trial_angle = angle[::100].round(6)
        for key, sel in (
            ("straight", version[::100] == 0),
            ("curved", version[::100] > 0),
            ("all", np.ones(len(trial_angle), bool)),
        ):
            pick = (trial_angle == ang) & sel
            assert a[f"n_{key}"][k] == pick.sum()
            if pick.any():
                np.testing.assert_allclose(a[f"avg_{key}"][k], traj[pick].mean(axis=0))
            else:
                assert np.isnan(a[f"avg_{key}"][k]).all()
    table = pd.read_csv(csv)
    assert set(table.columns) >= {"method", "set", "split", "metric", "value", "seed", "source"}
    row = table[(table.metric == "vel_R2") & (table.split == "train")]
    assert row["value"].item() == pytest.approx(float(a["vel_r2"]))
    assert (table["source"] == "trained").all() and (table["seed"] == 0).all()
    meta = json.loads(str(a["meta_json"]))
    assert set(meta["inputs"]) == {"embedding", "session"}

    # a run whose labels are not those of the session is refused
    wrong = _pca_run(session, "NER")
    wrong.labels_train = wrong.labels_train + 1.0
    wrong_path = wrong.save(tmp_path / "wrong.npz")
    with pytest.raises(InputError, match="training labels differ"):
        mcmaze_analysis.run_from_trained(wrong_path, sessions[name])


# -- the plan -------------------------------------------------------------------------------------
def _config(tmp_path, **overrides):
    base = {
        "results_dir": str(tmp_path / "results"),
        "published_dir": str(tmp_path / "none"),
        "data_dir": str(tmp_path / "data"),
        "missing": "skip",
    }
    base.update(overrides)
    return load_config(overrides=base)


def test_plan_trained_from_an_nwb_file(tmp_path, nwb):
    cfg = _config(tmp_path)
    cfg["mcmaze"]["nwb"] = str(nwb)
    plan = Plan(cfg)
    spec = plan.figure("fig8")
    assert spec.params["source"] == "trained" and not spec.params["synthetic"]
    assert spec.params["skipped"] == [] and spec.params["seed"] == 0
    n_sets = len(cfg["mcmaze"]["condition_sets"])
    assert len(spec.inputs) == 2 * n_sets
    assert spec.inputs["NER5k:curve-straight-38"] == [
        str(tmp_path / "results/analysis/mcmaze/MCMaze_curve-straight-38/NER5k_seed0.npz")
    ]
    figures = tmp_path / "results" / "figures" / "fig8"
    assert spec.outputs["NER5k:curve-straight:embedding"] == str(
        figures / "NER_straight-curve_embedding.pdf"
    )
    assert spec.outputs["CEBRA5k:curve-up-down:var"] == str(figures / "CEBRA_curve-up-down_var.pdf")
    straight = "straight-13-29-17-38-6-18"
    assert spec.outputs[f"NER5k:{straight}:decoding"].endswith(
        f"NER_{straight}_Decoding_R2_Train.pdf"
    )
    assert f"NER5k:{straight}:embedding" in spec.outputs
    assert spec.outputs["table"].endswith("Fig8_decoding_R2.csv")
    assert all(c not in Path(p).name for p in spec.outputs.values() for c in " :[]")
    fam = spec.params["families"]
    assert fam["curve-straight"]["sets"] == [
        "curve-straight-38",
        "curve-straight-18",
        "curve-straight-13",
        "curve-straight-13-38-18",
    ]
    assert fam["curve-up-down"]["sets"][:3] == [
        "curve-up-down-31-38",
        "curve-up-down-34-18",
        "curve-up-down-37-1",
    ]
    assert fam["curve-up-down"]["style"] == "angles" and fam["straight"]["style"] == "single"
    assert "example" not in spec.params  # Fig8 has no example session


def test_plan_published_and_absent(tmp_path, published_dir):
    plan = Plan(_config(tmp_path, published_dir=str(published_dir)))
    spec = plan.figure("fig8")
    assert spec.params["source"] == "published" and "seed" not in spec.params
    straight = "MCMaze_straight-13-29-17-38-6-18"
    assert spec.params["skipped"] == [straight]
    assert "no NWB file" in spec.params["skipped_reasons"][straight]
    assert len(spec.inputs) == 16
    assert spec.inputs["CEBRA5k:curve-up-down-34-18"][0].endswith(
        "MCMaze_curve-up-down-34-18/CEBRA5k_published.npz"
    )
    assert not any("straight-13-29" in k for k in spec.outputs)
    src = fig8_plan.published_input(plan, "curve-up-down-34-18", "CEBRA5k")
    assert (
        src == published_dir / "Fig8/Supp_Cebra/curve-up-down_34-18_parameters_5000itr_lr0.0001.npz"
    )
    with pytest.raises(ValueError, match="no published Fig8 embedding"):
        fig8_plan.published_input(plan, "straight-13-29-17-38-6-18", "NER5k")
    assert len([k for k in spec.outputs if k != "table"]) == 8
    # nothing to draw from: no figure
    assert not Plan(_config(tmp_path)).has_figure("fig8")


def test_demo_plan_is_synthetic(tmp_path):
    cfg = load_config(
        Path(__file__).resolve().parents[1] / "config" / "demo.yaml",
        overrides={"results_dir": str(tmp_path / "r")},
    )
    spec = Plan(cfg).figure("fig8")
    assert spec.params["source"] == "trained" and spec.params["synthetic"]
    assert spec.params["simulated"] is True
    assert set(spec.outputs) == {
        f"{m}:{f}:{p}"
        for m in ("NER", "CEBRA")
        for f in ("curve-straight", "curve-up-down")
        for p in ("embedding", "var")
    } | {
        f"{m}:straight-13-29-17-38-6-18:{p}"
        for m in ("NER", "CEBRA")
        for p in ("embedding", "decoding")
    } | {"table"}


# -- rendering ------------------------------------------------------------------------------------
@pytest.fixture
def drawn(monkeypatch):
    """Every saved figure's texts (axes titles and figure texts), by output path."""
    seen: dict[str, dict[str, list[str]]] = {}
    original = style.save

    def save(fig, path, **kwargs):
        seen[str(path)] = {
            "titles": [ax.get_title() for ax in fig.axes if ax.get_title()],
            "figure": [t.get_text() for t in fig.texts]
            + ([fig._suptitle.get_text()] if fig._suptitle is not None else []),
            "size": list(fig.get_size_inches()),
        }
        return original(fig, path, **kwargs)

    monkeypatch.setattr(style, "save", save)
    return seen


def _assert_pdf(path: str) -> None:
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:], path
    assert len(data) > 2000, path


def test_render_every_output_of_a_trained_run(tmp_path, nwb, sessions, drawn):
    cfg = _config(tmp_path)
    cfg["mcmaze"]["nwb"] = str(nwb)
    cfg["mcmaze"]["methods"] = ["NER5k"]
    cfg["mcmaze"]["condition_sets"] = SETS
    plan = Plan(cfg)
    spec = plan.figure("fig8")
    for key, (path,) in spec.inputs.items():
        method, name = key.split(":")
        run = _pca_run(SessionData.load(sessions[name]), method)
        emb = run.save(tmp_path / "emb" / f"{name}.npz")
        mcmaze_analysis.analyse_trained(emb, sessions[name], path, set_name=name, label="NER")
    started = time.perf_counter()
    pfig8.render(spec.inputs, spec.outputs, spec.params)
    elapsed = time.perf_counter() - started
    assert elapsed < 60
    for key, path in spec.outputs.items():
        if key == "table":
            continue
        _assert_pdf(path)
        footer = " ".join(drawn[path]["figure"]).replace("\n", " ")
        assert "trained here from the MC_Maze NWB file" in footer, key
        assert "R² = linear decoding fitted and scored on the training split" in footer
        assert "seed 0" in footer and "skipped: none" in footer
    arrays = {k: pfig8.load(p[0]) for k, p in spec.inputs.items()}
    var = drawn[spec.outputs["NER5k:curve-straight:var"]]
    assert var["titles"] == [
        "true [13, 38, 18]",
        f"[13, 38, 18]\n{pfig8.r2_title(arrays['NER5k:curve-straight-13-38-18'])}",
    ]
    straight = "straight-13-29-17-38-6-18"
    dec = drawn[spec.outputs[f"NER5k:{straight}:decoding"]]
    a = arrays[f"NER5k:{straight}"]
    vel, pos = round(float(a["vel_r2"]), 3), round(float(a["pos_r2"]), 3)
    assert dec["titles"] == [f"Var-R2 vel={vel}", f"True vs Pred-R2 vel={vel} pos={pos}"]
    assert dec["size"][0] == 10.0
    table = pd.read_csv(spec.outputs["table"])
    assert len(table) == 3 and set(table["source"]) == {"trained"}
    for _, row in table.iterrows():
        a = arrays[f"{row['method']}:{row['set']}"]
        assert row["vel_R2_train"] == pytest.approx(float(a["vel_r2"]))
        assert row["title"] == pfig8.r2_title(a)


def test_render_from_published_embeddings(tmp_path, published_dir, drawn):
    cfg = _config(tmp_path, published_dir=str(published_dir))
    cfg["mcmaze"]["methods"] = ["CEBRA5k"]
    cfg["mcmaze"]["condition_sets"] = {
        "curve-up-down-31-38": {
            "family": "curve-up-down",
            "types": [31, 38],
            "min_version": 1,
            "published": "curve-up-down_31-38",
        },
        "straight-13-29-17-38-6-18": SETS["straight-13-29-17-38-6-18"],
    }
    plan = Plan(cfg)
    spec = plan.figure("fig8")
    assert list(spec.inputs) == ["CEBRA5k:curve-up-down-31-38"]
    src = _published(published_dir, "curve-up-down_31-38", "cebra")
    mcmaze_analysis.analyse_published(
        src,
        spec.inputs["CEBRA5k:curve-up-down-31-38"][0],
        method="CEBRA5k",
        set_name="curve-up-down-31-38",
        kind="cebra",
    )
    pfig8.render(spec.inputs, spec.outputs, spec.params)
    assert set(spec.outputs) == {
        "CEBRA5k:curve-up-down:embedding",
        "CEBRA5k:curve-up-down:var",
        "table",
    }
    for key, path in spec.outputs.items():
        if key == "table":
            continue
        _assert_pdf(path)
        footer = " ".join(drawn[path]["figure"]).replace("\n", " ")
        assert "FROM PUBLISHED EMBEDDINGS" in footer
        assert "Fig8 S-e CEBRA" in footer or "Fig8 S-f CEBRA" in footer
        assert "seed: none" in footer and "straight-13-29-17-38-6-18 (no NWB file" in footer
    var = drawn[spec.outputs["CEBRA5k:curve-up-down:var"]]
    assert var["titles"][1] == "[31, 38]\nvel=0.85 pos=0.93"  # the authors' S-f title


def test_notebook_is_thin_and_parameterised(repo_root):
    nb = json.loads((repo_root / "workflow" / "notebooks" / "fig8.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    assert all(f"{v} = {{}}" in src for v in ("inputs", "outputs", "params"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "fig8.render(inputs, outputs, params)" in "".join(code[-1]["source"])
