"""Fig4–7 rendering (ner_repro.plotting.fig4…fig7, matrices): every output written, numbers drawn
computed from the analysis files, small groups (1 and 2 sessions) handled, the published titles."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ner_repro.analysis import steps as analyses
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.session import SessionData
from ner_repro.plotting import fig4, fig5, fig6, fig7, style
from ner_repro.plotting import matrices as mx

T_DUR = 8
N_TRIALS = 32
_W = np.random.default_rng(7).normal(size=(5, 16))


# -- synthetic analysis inputs --------------------------------------------------------------------
def _trials(session: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels [vx*10, vy*10, angle] and a latent of N_TRIALS trials in 8 directions."""
    rng = np.random.default_rng(zlib.crc32(session.encode()) + seed)
    cls = rng.permutation(np.arange(N_TRIALS) % 8)
    theta = np.deg2rad(np.repeat(cls, T_DUR) * 45.0)
    bell = np.tile(np.sin(np.linspace(0.1, np.pi - 0.1, T_DUR)), N_TRIALS)
    vel = 30 * bell[:, None] * np.c_[np.cos(theta), np.sin(theta)]
    vel += rng.normal(scale=2.0, size=vel.shape)
    labels = np.c_[vel, np.repeat(cls, T_DUR) * 45.0]
    latent = np.c_[vel / 30, np.cos(theta), np.sin(theta), bell]
    return labels, latent


def make_run(method: str, session: str, d: int = 3, noise: float = 0.1) -> EmbeddingRun:
    labels, latent = _trials(session, 0)
    rng = np.random.default_rng(len(method) * 101 + d)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    emb = (latent @ _W[:, :d] + noise * rng.normal(size=(len(latent), d))) @ q
    n_train = int(0.8 * N_TRIALS) * T_DUR
    return EmbeddingRun(
        method=method,
        session=session,
        seed=0,
        train=emb[:n_train],
        test=emb[n_train:],
        labels_train=labels[:n_train],
        labels_test=labels[n_train:],
        t_dur=T_DUR,
    )


def _embeddings(tmp: Path, method: str, sessions: list[str], d: int = 3) -> list[str]:
    paths = []
    for s in sessions:
        path = tmp / "embeddings" / method / f"{s}_seed0.npz"
        if not path.exists():
            make_run(method, s, d).save(path)
        paths.append(str(path))
    return paths


def cross_inputs(tmp: Path, group: str, methods: dict[str, int], sessions, decoder="linear"):
    out = []
    for method, d in methods.items():
        npz = tmp / "analysis" / group / f"{method}_{decoder}.npz"
        if not npz.exists():
            analyses.cross_decode(
                _embeddings(tmp, method, sessions, d),
                npz.with_suffix(".csv"),
                npz,
                mode="corrected",
                decoder=decoder,
                group=group,
            )
        out.append(str(npz))
    return out


def rotation_input(tmp: Path, method: str, sessions: list[str], anchor: str) -> str:
    npz = tmp / "analysis" / "alignment" / f"{method}_to_{anchor}.npz"
    if not npz.exists():
        anchor_method, anchor_session = anchor.split("-", 1)
        analyses.rotate_to_anchor(
            _embeddings(tmp, method, sessions),
            _embeddings(tmp, anchor_method, [anchor_session])[0],
            npz,
            mode="corrected",
        )
    return str(npz)


def provenance(sessions: list[str], **more) -> dict:
    return {
        "evaluation": "corrected",
        "seed": 0,
        "seeds": [0],
        "sessions": sorted(sessions),
        "skipped": ["Simia_20230119_M1"],
        "example": "Simia_20240103_M1",
        "example_is_substitute": False,
        "example_requested": "Simia_20240103_M1",
        "simulated": True,
        **more,
    }


# -- capturing what the figures show --------------------------------------------------------------
@pytest.fixture
def drawn(monkeypatch):
    """Every saved figure's texts, by output path (taken just before the figure is written)."""
    seen: dict[str, dict[str, list[str]]] = {}
    original = style.save

    def save(fig, path, **kwargs):
        texts = {"titles": [], "yticks": [], "xticks": [], "legend": [], "figure": []}
        for ax in fig.axes:
            if ax.get_title():
                texts["titles"].append(ax.get_title())
            texts["yticks"].append([t.get_text() for t in ax.get_yticklabels()])
            texts["xticks"].append([t.get_text() for t in ax.get_xticklabels()])
            if ax.get_legend() is not None:
                texts["legend"] += [t.get_text() for t in ax.get_legend().get_texts()]
        texts["figure"] = [t.get_text() for t in fig.texts]
        if fig._suptitle is not None:
            texts["figure"].append(fig._suptitle.get_text())
        seen[str(path)] = texts
        return original(fig, path, **kwargs)

    monkeypatch.setattr(style, "save", save)
    return seen


def assert_pdfs(outputs: dict[str, str]) -> None:
    for key, path in outputs.items():
        data = Path(path).read_bytes()
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:], key
        assert len(data) > 2000, key


def title_numbers(matrix: np.ndarray, fmt: str) -> tuple[str, str]:
    """Diagonal and off-diagonal means computed here, independently of the plotting code."""
    m = np.asarray(matrix)
    off = m[~np.eye(len(m), dtype=bool)]
    return fmt.format(np.diag(m).mean()), (fmt.format(off.mean()) if off.size else "n/a")


def outputs_for(tmp: Path, keys: list[str]) -> dict[str, str]:
    return {k: str(tmp / "figures" / (k.replace(":", "_") + ".pdf")) for k in keys}


# -- Fig5 -----------------------------------------------------------------------------------------
M1 = ["Simia_20230105_M1", "Simia_20230112_M1", "Simia_20240103_M1"]
LINEAR = {"NER": 3, "CEBRA": 3, "piVAE": 3}
ROTATE = {"NER": 3, "CEBRA": 3}


def test_fig5_writes_every_output_with_computed_titles(tmp_path, drawn):
    inputs = {
        "linear": cross_inputs(tmp_path, "g", LINEAR, M1),
        "knn": cross_inputs(tmp_path, "g", {"NER": 3, "CEBRA16": 16}, M1, "knn"),
    }
    keys = [f"{d}:{m}" for d in ("linear", "knn") for m in ("vel", "pos", "acc")] + ["accuracy"]
    outputs = outputs_for(tmp_path, keys)
    params = provenance(
        M1,
        group="Simia2023+Simia2024_M1",
        linear_methods={"NER": "NER", "CEBRA": "CEBRA", "piVAE": "piVAE"},
        knn_methods={"NER": "NER", "CEBRA16": "CEBRA16"},
    )
    fig5.render(inputs, outputs, params)
    assert_pdfs(outputs)
    for decoder, files in inputs.items():
        for metric, key, fmt in (
            ("vel", "vel_R2", "{:.2f}"),
            ("pos", "pos_R2", "{:.2f}"),
            ("acc", "peak_dir_acc", "{:.1f}%"),
        ):
            titles = drawn[outputs[f"{decoder}:{metric}"]]["titles"]
            assert len(titles) == len(files)
            for title, path in zip(titles, files, strict=True):
                arrays = np.load(path)
                dia, off = title_numbers(arrays[f"{decoder}_{key}"], fmt)
                assert title.endswith(f": dia={dia}\noff-dia={off}"), title
                # the analysis' own summary agrees with what the title shows
                summary = float(arrays[f"summary_{decoder}_{key}_offdiag_mean"])
                assert fmt.format(summary) == off
    # kNN panels are labelled as such; rows are the sessions, in order
    vel = drawn[outputs["knn:vel"]]
    assert vel["titles"][1].startswith("CEBRA16 kNN: dia=")
    assert vel["yticks"][0] == ["230105", "230112", "240103"]
    # accuracy legend: peak of the mean over all n^2 curves
    legend = drawn[outputs["accuracy"]]["legend"]
    for text, path in zip(legend, inputs["linear"], strict=True):
        acc = np.load(path)["linear_acc_time"].reshape(-1, T_DUR).mean(axis=0)
        k = int(np.argmax(acc))
        assert text == f"{Path(path).stem.split('_')[0]} {acc[k]:.1f}% at {k * 30:.0f} ms"
    # the footer states the provenance
    footer = " ".join(drawn[outputs["linear:vel"]]["figure"]).replace("\n", " ")
    assert "SIMULATED DATA" in footer and "evaluation: corrected" in footer
    assert "Simia_20230119_M1" not in footer and "20230119 M1" in footer  # skipped, compacted
    assert "seed 0" in footer


def test_a_single_session_has_no_off_diagonal(tmp_path, drawn):
    one = M1[:1]
    inputs = {"linear": cross_inputs(tmp_path, "one", LINEAR, one)}
    outputs = outputs_for(tmp_path, ["linear:vel", "linear:pos", "linear:acc", "accuracy"])
    params = provenance(one, group="Simia2023_M1", linear_methods=dict.fromkeys(LINEAR, "x"))
    fig5.render(inputs, outputs, params)
    assert_pdfs(outputs)
    titles = drawn[outputs["linear:pos"]]["titles"]
    assert all(t.endswith("off-dia=n/a") for t in titles), titles
    assert drawn[outputs["linear:pos"]]["yticks"][0] == ["230105"]


def test_mode_mismatch_is_refused(tmp_path):
    inputs = {"linear": cross_inputs(tmp_path, "g2", {"NER": 3}, M1[:2])}
    outputs = outputs_for(tmp_path, ["linear:vel"])
    params = provenance(M1[:2], group="g", linear_methods={"NER": "NER"})
    params["evaluation"] = "paper"
    with pytest.raises(ValueError, match="evaluation mode"):
        fig5.render(inputs, outputs, params)


# -- Fig6 -----------------------------------------------------------------------------------------
def test_fig6_mixed_areas_label_rows_by_date_and_area(tmp_path, drawn):
    sessions = ["Simia_20240103_M1", "Simia_20240103_PMd", "Simia_20240110_M1"]
    pmd = ["Simia_20240103_PMd", "Simia_20240110_PMd"]
    anchor = "NER-Simia_20240110_M1"
    inputs = {
        "linear": cross_inputs(tmp_path, "m1pmd", ROTATE, sessions),
        **{f"{m}:rotate_to_M1": [rotation_input(tmp_path, m, pmd, anchor)] for m in ROTATE},
    }
    keys = [f"linear:{m}" for m in ("vel", "pos", "acc")] + ["accuracy"]
    keys += [f"{m}:rotate_to_M1:{w}" for m in ROTATE for w in ("Before", "After")]
    outputs = outputs_for(tmp_path, keys)
    params = provenance(
        sessions + pmd,
        group="Simia2024_M1+PMd",
        linear_methods=dict(zip(ROTATE, ROTATE, strict=True)),
        rotation_group="Simia2024_PMd",
        rotate_methods=dict(zip(ROTATE, ROTATE, strict=True)),
        anchors={f"{m}:rotate_to_M1": anchor for m in ROTATE},
    )
    fig6.render(inputs, outputs, params)
    assert_pdfs(outputs)
    rows = drawn[outputs["linear:acc"]]["yticks"][0]
    assert rows == ["240103 M1", "240103 PMd", "240110 M1"]
    after = drawn[outputs["CEBRA:rotate_to_M1:After"]]
    assert after["titles"][:2] == ["240103", "240110"]
    rot = np.load(inputs["CEBRA:rotate_to_M1"][0])
    assert f"RMSE {rot['rmse_before'][0]:.3g} → {rot['rmse_after'][0]:.3g}" in after["titles"]
    assert any(f"after rotation onto\n{anchor}" in t for t in after["figure"])


# -- Fig7 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2])
def test_fig7_small_groups(tmp_path, drawn, n):
    sessions = ["Simon_20240201_S1", "Simon_20240208_S1"][:n]
    inputs = {"linear": cross_inputs(tmp_path, f"s1_{n}", LINEAR, sessions)}
    outputs_keys = ["linear:vel", "linear:pos", "accuracy"]
    anchors = {}
    for m in ROTATE:
        for suffix, anchor in (("_self_rotate", f"{m}-{sessions[0]}"), ("_to_M1", "NER-X_1_M1")):
            key = f"{m}:rotate{suffix}"
            anchors[key] = anchor
            inputs[key] = [rotation_input(tmp_path, m, sessions, anchor)]
            outputs_keys += [f"{key}:Before", f"{key}:After"]
    outputs = outputs_for(tmp_path, outputs_keys)
    params = provenance(
        sessions,
        group="Simon2024_S1",
        linear_methods=dict(zip(LINEAR, LINEAR, strict=True)),
        rotate_methods=dict(zip(ROTATE, ROTATE, strict=True)),
        anchors=anchors,
    )
    fig7.render(inputs, outputs, params)
    assert_pdfs(outputs)
    for path in inputs["linear"]:
        dia, off = title_numbers(np.load(path)["linear_vel_R2"], "{:.2f}")
        assert any(
            t.endswith(f"dia={dia}\noff-dia={off}") for t in drawn[outputs["linear:vel"]]["titles"]
        )
    assert drawn[outputs["NER:rotate_self_rotate:Before"]]["titles"] == [
        mx.session_labels(sessions)[i] for i in range(n)
    ]


# -- Fig4 -----------------------------------------------------------------------------------------
FIG4_METHODS = {"NER": 3, "CEBRA": 3, "piVAE": 3, "UMAP_label": 2, "UMAP": 2}


def ev_inputs(tmp: Path, group: str, sessions: list[str]) -> list[str]:
    out = []
    for method, d in FIG4_METHODS.items():
        npz = tmp / "analysis" / "ev" / group / f"{method}.npz"
        if not npz.exists():
            analyses.explained_variance(
                _embeddings(tmp, method, sessions, d),
                npz.with_suffix(".csv"),
                npz,
                mode="corrected",
                group=group,
            )
        out.append(str(npz))
    return out


def session_files(tmp: Path, sessions: list[str]) -> list[str]:
    out = []
    for s in sessions:
        monkey, date, area = s.split("_")
        labels, _ = _trials(s, 0)
        rng = np.random.default_rng(0)
        path = tmp / "sessions" / f"{s}.npz"
        SessionData(
            monkey, date, area, rng.poisson(2.0, size=(len(labels), 5)), labels, T_DUR
        ).save(path)
        out.append(str(path))
    return out


def test_fig4_writes_every_panel_with_medians_and_peaks(tmp_path, drawn):
    m1 = ["Simia_20230105_M1", "Simia_20230112_M1", "Simia_20240103_M1"]
    s1 = ["Simon_20240201_S1"]
    inputs = {
        "M1": ev_inputs(tmp_path, "Simia2024+Simia2023_M1", m1),
        "M1:accuracy": ev_inputs(tmp_path, "Simia2023_M1", m1[:2]),
        "M1:profile": session_files(tmp_path, m1[:2]),
        "S1": ev_inputs(tmp_path, "Simon2024_S1", s1),
    }
    outputs = outputs_for(
        tmp_path, ["M1:velocities", "M1:positions", "M1:accuracy", "S1:velocities", "S1:positions"]
    )
    labels = {m: m for m in FIG4_METHODS}
    params = provenance(
        m1 + s1,
        methods=labels,
        panels={"M1": "Simia2024+Simia2023_M1", "S1": "Simon2024_S1"},
    )
    fig4.render(inputs, outputs, params)
    assert_pdfs(outputs)
    vel = drawn[outputs["M1:velocities"]]
    assert vel["xticks"][0] == ["230105", "230112", "240103"]
    assert vel["titles"] == ["Velocities: Simia2024+Simia2023 M1"]
    for text, path in zip(vel["legend"], inputs["M1"], strict=True):
        arrays = np.load(path)
        median = np.median(arrays["linear_vel_R2"][:, 0])
        assert text == f"{arrays['methods'][0]} {median:.2f}"
    pos = drawn[outputs["S1:positions"]]
    assert pos["xticks"][0] == ["240201"]
    assert len(pos["legend"]) == len(FIG4_METHODS)
    acc = drawn[outputs["M1:accuracy"]]
    ner = np.load(inputs["M1:accuracy"][0])["linear_acc_time"][:, 0].mean(axis=0)
    assert acc["legend"][0] == f"NER {ner.max():.1f}% at {np.argmax(ner) * 30:.0f} ms"
    assert [t.split(" ")[0] for t in acc["legend"][-2:]] == ["|vx|", "|vy|"]
    assert "(2 sessions)" in acc["titles"][0]


def test_speed_profiles_peak_at_100_percent(tmp_path):
    files = session_files(tmp_path, ["Simia_20230105_M1", "Simia_20230112_M1"])
    profiles, n_trials, n_files = fig4.speed_profiles(files)
    assert n_files == 2 and n_trials == 2 * int(0.8 * N_TRIALS)
    for mean, sem in profiles.values():
        assert mean.shape == (T_DUR,) and np.isclose(mean.max(), 100.0)
        assert (sem >= 0).all() and sem.max() < 100


# -- helpers --------------------------------------------------------------------------------------
def test_session_labels():
    assert mx.session_labels(["Chewie_20160929_M1", "Chewie_20161005_M1"]) == ["160929", "161005"]
    assert mx.session_labels(["Chewie_20160929_M1", "Chewie_20160929_PMd"]) == [
        "160929 M1",
        "160929 PMd",
    ]
    assert mx.session_labels(["Chewie_20160929_M1", "Han_20171201_S1"]) == [
        "Chewie 160929 M1",
        "Han 171201 S1",
    ]


def test_method_kinds_and_labels():
    methods = mx.methods_from_params(
        {"CEBRA16": "CEBRA 16D", "UMAP_label": {"label": "UMAP w/ label", "kind": "umap"}}
    )
    assert [(m.label, m.kind) for m in methods] == [
        ("CEBRA 16D", "cebra"),
        ("UMAP w/ label", "umap_label"),
    ]
    assert mx.infer_kind("UMAP") == "umap" and mx.infer_kind("piVAE") == "pivae"


@pytest.mark.parametrize(
    ("fig", "files", "expected"),
    [
        # reference/fig4-7.md §3 F5.3 (docs/sources.md): the published PDF titles (R² 2
        # decimals, accuracy 1)
        (
            "Fig5",
            ("NER_Chewie", "Cebra_Chewie", "piVAE_Chewie"),
            {"vel": [(0.71, 0.64), (-3.08, -3.21), (-1.21, -2.18)],
             "pos": [(0.94, 0.89), (0.74, 0.72), (0.67, 0.2)],
             "acc": [(92.8, 89.8), (89.9, 79.6), (81.2, 42.4)]},
        ),
        (
            "Fig7",
            ("NER_Han2017", "Cebra_Han2017", "piVAE_Han2017"),
            {"vel": [(0.67, 0.61), (-4.59, -4.54), (-0.38, -1.57)],
             "pos": [(0.9, 0.79), (0.6, 0.53), (0.73, 0.28)]},
        ),
    ],
)  # fmt: skip
def test_titles_match_the_published_pdfs(published_dir, fig, files, expected):
    loaded = [
        (mx.Method(f, f, mx.infer_kind(f)), mx.from_published(published_dir / fig / f"{f}.npz"))
        for f in files
    ]
    params = {"evaluation": "paper", "sessions": [], "skipped": []}
    for metric, values in expected.items():
        panels = mx._decoder_panels(loaded, "linear", metric)
        figure = mx.matrix_figure(panels, metric, params)
        for ax, (dia, off) in zip(figure.axes, values, strict=False):
            got = ax.get_title().split(": ", 1)[1].replace("%", "")
            got_dia, got_off = (float(s.split("=")[1]) for s in got.split("\n"))
            assert (got_dia, got_off) == (dia, off), (fig, metric, ax.get_title())
        plt.close(figure)


def test_notebooks_are_thin_and_parameterised(repo_root):
    for name in ("fig4", "fig5", "fig6", "fig7"):
        nb = json.loads((repo_root / "workflow" / "notebooks" / f"{name}.ipynb").read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1
        src = "".join(tagged[0]["source"])
        assert all(f"{v} = {{}}" in src for v in ("inputs", "outputs", "params"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
        assert f"{name}.render(inputs, outputs, params)" in "".join(code[-1]["source"])
