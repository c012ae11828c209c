"""``ner-embed`` (ner_repro.cli.embed) on small synthetic recordings: .npz, .csv and .mat
inputs (both MATLAB containers), the outputs' contracts, the model round trip, the decoding
summary, and bad input refused with exit code 2 before anything is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from ner_repro.cli import embed
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.provenance import sha256sum
from ner_repro.data.matfile import save_mat73

N_TRIALS, T_DUR, N_NEURONS = 20, 30, 20
N_TRAIN = 16 * T_DUR  # the first int(0.8 * 20) trials
#: Fast settings: ~2 s per fit on one CPU thread.
FAST = [
    "--trial-length",
    str(T_DUR),
    "--iterations",
    "150",
    "--batch-size",
    "128",
    "--learning-rate",
    "1e-3",
    "--seed",
    "0",
    "--threads",
    "1",
    "--no-progress",
]


def simulate(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand position on a smooth closed path (one loop per trial, from a random start) and
    Poisson neurons log-linearly tuned to it; also the angle along the path (degrees)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 2 * np.pi, N_TRIALS)
    phase = (start[:, None] + 2 * np.pi * np.arange(T_DUR)[None] / T_DUR).reshape(-1)
    pos = np.c_[np.cos(phase) + 0.3 * np.cos(2 * phase), np.sin(phase)]
    weights = rng.normal(size=(2, N_NEURONS))
    bias = rng.normal(-0.5, 0.3, N_NEURONS)
    neural = rng.poisson(np.exp(bias + pos @ weights)).astype(np.float32)
    return neural, pos, np.degrees(np.mod(phase, 2 * np.pi))


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("recording")
    neural, pos, angle = simulate()
    np.savez(d / "neural.npz", spikes=neural)
    np.savez(d / "labels.npz", pos=pos)
    np.savetxt(d / "neural.csv", neural, delimiter=",", fmt="%g")  # no header
    np.save(d / "neural.npy", neural)
    np.save(d / "labels.npy", pos)
    both = np.c_[pos, neural]
    header = "x,y," + ",".join(f"n{j}" for j in range(N_NEURONS))
    np.savetxt(d / "both.csv", both, delimiter=",", header=header, comments="")
    np.savetxt(d / "labels.csv", pos, delimiter=",", header="x,y", comments="")
    scipy.io.savemat(d / "session.mat", {"neural": neural, "pos": pos})  # v5
    save_mat73(d / "neural73.mat", {"spikes": neural})
    save_mat73(d / "labels73.mat", {"pos": pos})
    np.savetxt(d / "labels3.csv", np.c_[pos, angle], delimiter=",", header="x,y,angle", comments="")
    return {"dir": d, "neural": neural, "pos": pos, "angle": angle}


def _main(args: list[str | Path]) -> int:
    return embed.main([str(a) for a in args])


@pytest.fixture(scope="module")
def npz_run(rec, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "npz"
    d = rec["dir"]
    rc = _main(["--neural", d / "neural.npz", "--labels", d / "labels.npz", *FAST, "--out", out])
    assert rc == 0
    return out


def test_npz_run_writes_the_contract(npz_run, rec):
    assert sorted(p.name for p in npz_run.iterdir()) == sorted(embed.OUTPUTS)
    assert [p.name for p in npz_run.parent.iterdir()] == ["npz"]  # no temporary folder left
    run = EmbeddingRun.load(npz_run / "embedding.npz")
    assert (run.method, run.session, run.seed, run.t_dur) == ("NER", "neural", 0, T_DUR)
    assert run.train.shape == (N_TRAIN, 3) and run.test.shape == (600 - N_TRAIN, 3)
    np.testing.assert_array_equal(run.labels_train, rec["pos"][:N_TRAIN])
    np.testing.assert_array_equal(run.labels_test, rec["pos"][N_TRAIN:])
    assert run.loss.shape == (150,) and run.loss_name == "RnC"
    assert list(run.extras["label_names"]) == ["pos[0]", "pos[1]"]
    meta = run.meta
    assert meta["seed"] == 0 and "cebra" in meta["packages"] and meta["wall_time_s"] > 0
    assert meta["config"]["max_iterations"] == 150 and meta["config"]["batch_size"] == 128
    for role in ("neural", "labels"):
        path = rec["dir"] / f"{role}.npz"
        assert meta["inputs"][role] == {"path": str(path), "sha256": sha256sum(path)}
    for name in ("loss.pdf", "embedding.pdf"):
        assert (npz_run / name).read_bytes()[:5] == b"%PDF-"


def test_model_reloads_with_the_same_transform(npz_run, rec):
    from ner_patch import NER

    model = NER.load(npz_run / "model.pt")
    run = EmbeddingRun.load(npz_run / "embedding.npz")
    np.testing.assert_array_equal(model.transform(rec["neural"][:N_TRAIN]), run.train)
    np.testing.assert_array_equal(model.transform(rec["neural"][N_TRAIN:]), run.test)
    assert model.circular_columns == {} and model.label_metric_.circular == ()


def test_summary_reports_decoding(npz_run):
    summary = json.loads((npz_run / "summary.json").read_text())
    r2 = summary["r2"]
    assert r2["targets"] == ["pos[0]", "pos[1]"] and r2["circular"] is None
    # Seen (seed 0, 150 iterations, CPU): held-out x 0.871, y 0.908, mean 0.890;
    # in-sample mean 0.916.
    assert r2["held_out_mean"] > 0.6 and min(r2["held_out"].values()) > 0.5
    assert r2["in_sample_mean"] > 0.6
    assert summary["split"]["n_train_trials"] == 16 and summary["split"]["n_test_trials"] == 4
    assert summary["label_metric"] == "D = |d0| + |d1|; positives from columns 0, 1"


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param(["--neural", "neural.csv", "--labels", "labels.csv"], id="csv"),
        pytest.param(
            ["--data", "session.mat", "--neural-key", "neural", "--labels-key", "pos"],
            id="mat-v5-one-file",
        ),
        pytest.param(["--neural", "neural73.mat", "--labels", "labels73.mat"], id="mat-v7.3"),
        pytest.param(["--neural", "neural.npy", "--labels", "labels.npy"], id="npy"),
        pytest.param(["--data", "both.csv", "--label-columns", "x,y"], id="csv-one-file"),
    ],
)
def test_other_formats_give_the_same_embedding(inputs, rec, npz_run, tmp_path, capsys):
    args = [rec["dir"] / a if a.endswith((".csv", ".mat", ".npy")) else a for a in inputs]
    assert _main([*args, *FAST, "--name", "neural", "--out", tmp_path / "out"]) == 0
    assert "held-out" in capsys.readouterr().out
    run = EmbeddingRun.load(tmp_path / "out" / "embedding.npz")
    reference = EmbeddingRun.load(npz_run / "embedding.npz")
    np.testing.assert_array_equal(run.train, reference.train)
    np.testing.assert_array_equal(run.labels_test, reference.labels_test)


def test_circular_column_without_trials(rec, tmp_path, monkeypatch, capsys):
    """Three label columns are linear unless --circular says so; a circular one is decoded as
    cos/sin. Without --trial-length the split is by bins. --force replaces --out. The figures'
    footers name the input files, the seed and the iterations."""
    from ner_repro.plotting import style

    texts: dict[str, str] = {}
    original = style.save

    def spy(fig, path, **kwargs):
        texts[Path(path).name] = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
        return original(fig, path, **kwargs)

    monkeypatch.setattr(style, "save", spy)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    d = rec["dir"]
    args = ["--neural", d / "neural.npz", "--labels", d / "labels3.csv", "--circular", "angle:360"]
    args += ["--iterations", "20", "--batch-size", "64", "--threads", "1", "--no-progress"]
    assert _main([*args, "--out", out, "--force"]) == 0
    printed = capsys.readouterr().out
    assert "no --trial-length" in printed and "(cos, sin)" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(embed.OUTPUTS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["r2"]["targets"] == ["x", "y", "cos(angle)", "sin(angle)"]
    assert summary["label_metric"] == "D = |d0| + |d1| + circ2(P=360); positives from columns 0, 1"
    assert summary["split"]["mode"] == "bins" and summary["split"]["n_train_bins"] == 480
    run = EmbeddingRun.load(out / "embedding.npz")
    assert run.t_dur == 1 and run.labels_train.shape == (480, 3)
    from ner_patch import NER

    assert NER.load(out / "model.pt").label_metric_.circular == ((2, 360.0),)
    for name in ("loss.pdf", "embedding.pdf"):
        footer = texts[next(k for k in texts if k.endswith(name))]
        assert "neural.npz[spikes]" in footer and "labels3.csv" in footer, footer
        assert "seed 0" in footer and "20 iterations" in footer and "skipped" not in footer


def test_a_failure_while_writing_leaves_nothing(rec, tmp_path, monkeypatch):
    from ner_repro.cli import figures

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(figures, "plot_embedding", broken)
    d = rec["dir"]
    args = ["--neural", d / "neural.npz", "--labels", d / "labels.npz", "--iterations", "3"]
    with pytest.raises(RuntimeError, match="disk full"):
        _main([*args, "--threads", "1", "--no-progress", "--out", tmp_path / "out"])
    assert list(tmp_path.iterdir()) == []


def _bad_files(d: Path, rec: dict) -> None:
    pos = rec["pos"]
    if (d / "labels_nan.npz").exists():
        return
    nan = pos.copy()
    nan[7, 1] = np.nan
    np.savez(d / "labels_nan.npz", pos=nan)
    np.savez(d / "labels_short.npz", pos=pos[:590])
    np.savez(d / "two.npz", a=rec["neural"], b=rec["neural"])
    text = (d / "labels.csv").read_text().splitlines()
    text[5] = "0.1,abc"
    (d / "labels_text.csv").write_text("\n".join(text) + "\n")


@pytest.mark.parametrize(
    ("change", "file", "problem"),
    [
        ({"--neural": "missing.npz"}, "missing.npz", "file not found"),
        ({"--neural-key": "nope"}, "neural.npz", "no array 'nope'"),
        ({"--neural": "two.npz"}, "two.npz", "pick one with --neural-key"),
        ({"--labels": "labels_text.csv"}, "labels_text.csv", "'abc' is not a number"),
        ({"--labels": "labels_short.npz"}, "labels_short.npz", "590 rows of labels"),
        ({"--trial-length": "31"}, "neural.npz", "not a multiple of --trial-length 31"),
        ({"--labels": "labels_nan.npz"}, "labels_nan.npz", "1 NaN or infinite value(s)"),
        ({"--labels": "labels.csv", "--circular": "z:360"}, "--circular", "no column 'z'"),
        ({"--label-weights": "1,2,3"}, "--label-weights", "one weight per label column"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(change, file, problem, rec, tmp_path, capsys):
    d = rec["dir"]
    _bad_files(d, rec)
    options = {"--neural": "neural.npz", "--labels": "labels.npz", "--trial-length": "30"}
    options.update(change)
    args: list[str | Path] = []
    for key, value in options.items():
        args += [key, d / value if key in ("--neural", "--labels") else value]
    out = tmp_path / "out"
    assert _main([*args, "--iterations", "2", "--no-progress", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ner-embed: error: ") and file in err and problem in err, err
    assert list(tmp_path.iterdir()) == []


def test_bad_options_and_a_full_out_folder(rec, tmp_path, capsys):
    d = rec["dir"]
    base = ["--neural", d / "neural.npz", "--labels", d / "labels.npz"]
    assert _main([*base, "--iterations", "0", "--out", tmp_path / "out"]) == 2
    assert "--iterations" in capsys.readouterr().err
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert _main([*base, "--out", out]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_help_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "ner_repro.cli.embed", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--trial-length" in done.stdout and "--circular" in done.stdout
