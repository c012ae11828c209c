"""Fig1, Fig2, Fig3 and the demo GIF rendered from small synthetic analysis files.

The inputs are written exactly where :class:`ner_repro.plan.Plan` (demo configuration, results
in ``tmp_path``) says each figure reads them, by the real analysis functions
(:func:`ner_repro.analysis.steps.insample`, :func:`ner_repro.analysis.steps.rotate_to_anchor`) run on
synthetic embedding files; so these tests also hold the figures to the plan's contract.
Every figure passes through :func:`ner_repro.plotting.style.save`, which the tests wrap to look
at the figure before it is written: the provenance footer, the numbers in the titles, and that
no text falls off the page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

from ner_repro.analysis import steps as analyses
from ner_repro.core.config import REPO_ROOT, SessionKey, load_config
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.plan import Plan
from ner_repro.plotting import demo_gif, fig1, fig2, fig3, rotation, style

T_DUR = 10
N_TRIALS = 40  # 32 train + 8 test trials, 5 per direction
#: Fig3 is tested on one 3-D and one 2-D rotating method, and the two un-rotated baselines.
SUBSET_FIG3 = {"NER": ("Simia2024", "Simia2023"), "UMAP": ("Simia2023",), "PCA": ("Simia2024",)}
SUBSET_FIG3["dPCA"] = ("Simia2023",)


# -- synthetic data -------------------------------------------------------------------------------
def _rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))


def _trials(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unit-sphere trajectories from the pole along each direction's meridian, and labels."""
    directions = rng.permutation(np.arange(N_TRIALS) % 8)
    s = np.linspace(0, 1, T_DUR)
    emb, labels = [], []
    for c in directions:
        theta = np.deg2rad(45.0 * c)
        phi = np.pi / 2 * s
        pts = np.stack([np.sin(phi) * np.cos(theta), np.sin(phi) * np.sin(theta), np.cos(phi)], 1)
        pts += rng.normal(0, 0.05, pts.shape)
        emb.append(pts / np.linalg.norm(pts, axis=1, keepdims=True))
        speed = 200 * np.sin(np.pi * s) + rng.normal(0, 10, T_DUR)
        labels.append(
            np.stack([speed * np.cos(theta), speed * np.sin(theta), np.full(T_DUR, 45.0 * c)], 1)
        )
    return np.concatenate(emb), np.concatenate(labels)


def synthetic_run(
    method: str, session: str, seed: int = 0, dim: int = 3, k: int = 0
) -> EmbeddingRun:
    rng = np.random.default_rng(zlib.crc32(f"{method}/{session}/{k}".encode()))
    emb, labels = _trials(rng)
    if dim == 2:
        emb = 5 * emb[:, :2]
    emb = emb @ _rotation(dim, rng)  # each session in its own frame
    split = int(0.8 * N_TRIALS) * T_DUR
    loss_name = {"NER": "RnC", "CEBRA": "InfoNCE"}.get(method, "")
    loss = (
        6 - 0.3 * (1 - np.exp(-np.arange(60) / 10)) + rng.normal(0, 0.01, 60) if loss_name else []
    )
    return EmbeddingRun(
        method=method,
        session=session,
        seed=seed,
        train=emb[:split],
        test=emb[split:],
        labels_train=labels[:split],
        labels_test=labels[split:],
        t_dur=T_DUR,
        loss=loss,
        loss_name=loss_name,
    )


def baseline_run(kind: str, method: str, session: str) -> EmbeddingRun:
    """A PCA / dPCA run with the extras those baselines write (``avg_train`` / ``Z_s``)."""
    run = synthetic_run(method, session)
    avg = np.stack(
        [
            run.train[np.repeat(run.labels_train[::T_DUR, 2] == 45 * c, T_DUR)]
            .reshape(-1, T_DUR, 3)
            .mean(0)
            for c in range(8)
        ]
    )  # (8, t_dur, 3)
    if kind == "pca":
        run.extras = {
            "avg_train": avg,
            "directions": np.arange(8),
            "explained_variance_ratio": np.array([0.5, 0.2, 0.1]),
        }
    else:
        run.extras = {
            "Z_s": avg.transpose(2, 0, 1),
            "directions": np.arange(8),
            "lambda": np.float64(0.0093),
        }
    return run


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("figs")
    config = load_config(
        REPO_ROOT / "config" / "demo.yaml", overrides={"results_dir": str(root / "results")}
    )
    return Plan(config)


@pytest.fixture(scope="module")
def example_embedding(plan: Plan) -> str:
    spec = plan.figure("fig2")
    (path,) = spec.inputs["embedding"]
    synthetic_run(spec.params["method"], plan.example[0].name).save(path)
    return path


@pytest.fixture(scope="module")
def fig1_spec(plan: Plan, tmp_path_factory: pytest.TempPathFactory):
    spec = plan.figure("fig1")
    scratch = tmp_path_factory.mktemp("fig1")
    for method, path in zip(spec.params["methods"], spec.inputs["insample"], strict=True):
        emb = scratch / f"{method}.npz"
        synthetic_run(method, plan.example[0].name).save(emb)
        analyses.insample(emb, path, scratch / f"{method}.csv")
    return spec


@pytest.fixture(scope="module")
def fig3_spec(plan: Plan, tmp_path_factory: pytest.TempPathFactory):
    spec = plan.figure("fig3")
    scratch = tmp_path_factory.mktemp("fig3")
    example = plan.example[0].name
    for key, paths in spec.inputs.items():
        method, title = key.split(":")
        if title not in SUBSET_FIG3.get(method, ()):
            continue
        kind = plan.kind(method)
        sessions = [k.name for k in plan.group_sessions(spec.params["groups"][title])]
        if kind in ("pca", "dpca"):
            for path, session in zip(paths, sessions, strict=True):
                baseline_run(kind, method, session).save(path)
            continue
        dim = 2 if kind == "umap" else 3
        runs = []
        for session in sessions:
            runs.append(scratch / f"{method}_{session}.npz")
            synthetic_run(method, session, dim=dim).save(runs[-1])
        anchor = scratch / f"{method}_{example}.npz"
        synthetic_run(method, example, dim=dim).save(anchor)
        (out,) = paths
        analyses.rotate_to_anchor(runs, anchor, out, mode=plan.mode)

    def wanted(key: str) -> bool:
        method, title = key.split(":")[:2]
        return title in SUBSET_FIG3.get(method, ())

    spec.outputs = {k: v for k, v in spec.outputs.items() if wanted(k)}
    spec.inputs = {k: v for k, v in spec.inputs.items() if wanted(k)}
    assert len(spec.outputs) == 8
    return spec


# -- looking at the figures -----------------------------------------------------------------------
class Captured(dict):
    """Texts of every figure saved, by path."""


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    seen = Captured()
    original = style.save

    def save(fig, path, **kwargs):
        written = original(fig, path, **kwargs)  # draws the figure (layout done), then closes it
        renderer = FigureCanvasAgg(fig).get_renderer()
        page = fig.bbox.padded(1.0)
        texts = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
        # What is drawn: each axes with its titles, labels and tick labels, and the figure's
        # own texts (suptitle, footer).
        boxes = [(f"axes {ax.get_title()!r}", ax.get_tightbbox(renderer)) for ax in fig.axes]
        boxes += [
            (t.get_text(), t.get_window_extent(renderer))
            for t in fig.texts  # includes the suptitle
            if t.get_visible() and t.get_text()
        ]
        off_page = [
            name
            for name, box in boxes
            if box.x0 < page.x0 or box.y0 < page.y0 or box.x1 > page.x1 or box.y1 > page.y1
        ]
        seen[str(path)] = {"texts": texts, "off_page": off_page, "footer": fig.texts[-1].get_text()}
        return written

    monkeypatch.setattr(style, "save", save)
    return seen


def assert_pdf(path: str) -> None:
    data = Path(path).read_bytes()
    assert data[:5] == b"%PDF-", path
    assert data.rstrip().endswith(b"%%EOF"), path
    assert len(data) > 5000, f"{path}: only {len(data)} bytes"
    assert data.count(b"/Type /Page") >= 1 or data.count(b"/Type/Page") >= 1


def pdf_text(path: str) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(
        ["pdftotext", path, "-"], capture_output=True, text=True, check=True
    ).stdout


def check_figures(outputs: dict[str, str], captured: Captured, params: dict) -> None:
    footer = style.provenance_text(params)
    for path in outputs.values():
        assert_pdf(path)
        seen = captured[str(path)]
        assert not seen["off_page"], f"{path}: text off the page: {seen['off_page']}"
        assert seen["footer"].replace("\n", " ").startswith(footer[:60].replace("\n", " "))
        assert "SIMULATED DATA" in seen["footer"]
        assert params["example"] in seen["footer"]
        assert f"seed {params['seed']}" in seen["footer"]
    text = pdf_text(next(iter(outputs.values())))
    if text is not None:
        assert "SIMULATED DATA" in text


# -- Fig1 -----------------------------------------------------------------------------------------
def test_number_formats() -> None:
    assert fig1.format_pvalue(0.0) == "<1e-100"
    assert fig1.format_pvalue(3e-120) == "<1e-100"
    assert fig1.format_pvalue(1.4e-49) == "1.4e-49"
    assert fig1.format_pvalue(4.9e-05) == "4.9e-05"
    assert fig1.decoding_title(0.84104, 0.96491) == "True vs Pred-R2 vel=0.841 pos=0.965"
    assert fig1.decoding_title(0.8289, 0.9604) == "True vs Pred-R2 vel=0.829 pos=0.96"
    loss = np.r_[np.full(100, 9.0), np.arange(10.0)]
    assert fig1.final_loss(loss) == 4.5
    assert fig1.loss_title(loss) == "iterations=110  final loss=4.5"
    title = fig1.velocity_title("Y", 0.8412, [1e-300, 1.4e-49, 0.5, 1e-101])
    assert title == (
        "Actual vs Predicted Y-velocity\nR-squared: 0.84, p-values [const, z1, z2, z3]: "
        "['<1e-100', '1.4e-49', '5.0e-01', '<1e-100']"
    )


def test_fig1(fig1_spec, captured: Captured) -> None:
    spec = fig1_spec
    assert len(spec.outputs) == 10
    fig1.render(spec.inputs, spec.outputs, spec.params)
    check_figures(spec.outputs, captured, spec.params)
    for method, path in zip(spec.params["methods"], spec.inputs["insample"], strict=True):
        run = fig1.load_insample(path)

        def texts(panel: str, method: str = method) -> str:
            return "\n".join(captured[spec.outputs[f"{method}:{panel}"]]["texts"])

        assert fig1.decoding_title(run.vel_r2, run.pos_r2) in texts("Decoding")
        assert fig1.loss_title(run.loss) in texts("train_loss")
        assert f"{run.loss_name} loss" in texts("train_loss")
        assert run.loss_name == {"NER": "RnC", "CEBRA": "InfoNCE"}[method]
        x_title = fig1.velocity_title("X", float(run.r2_axis[0]), run.pvalues[0])
        assert x_title in texts("X_velocity_real_vs_pred")
        for panel in fig1.PANELS:
            assert style.session_title(run.session) in texts(panel), panel
    rows = fig1.summary(spec.inputs, spec.params)
    assert [r["method"] for r in rows] == spec.params["methods"]


def test_fig1_rejects_mismatched_inputs(fig1_spec) -> None:
    spec = fig1_spec
    swapped = {"insample": list(reversed(spec.inputs["insample"]))}
    with pytest.raises(ValueError, match="holds method"):
        fig1.render(swapped, {}, spec.params)
    with pytest.raises(KeyError, match="no panel"):
        fig1.render(spec.inputs, {"NER:Nonsense": "x.pdf"}, spec.params)


# -- Fig2 -----------------------------------------------------------------------------------------
def test_fig2(plan: Plan, example_embedding: str, captured: Captured) -> None:
    spec = plan.figure("fig2")
    fig2.render(spec.inputs, spec.outputs, spec.params)
    assert set(spec.outputs) == set(fig2.PANELS)
    check_figures(spec.outputs, captured, spec.params)
    for path in spec.outputs.values():
        assert any(style.session_title(plan.example[0].name) in t for t in captured[path]["texts"])


def test_substitute_named_on_the_panels(
    plan: Plan, example_embedding: str, captured: Captured, tmp_path: Path
) -> None:
    spec = plan.figure("fig2")
    params = {
        **spec.params,
        "example_is_substitute": True,
        "example_requested": "Chewie_20161014_M1",
    }
    outputs = {k: str(tmp_path / Path(v).name) for k, v in spec.outputs.items()}
    fig2.render(spec.inputs, outputs, params)
    for path in outputs.values():
        assert any("substitute for Chewie 20161014 M1" in t for t in captured[path]["texts"])
        footer = " ".join(captured[path]["footer"].split())  # the footer is wrapped
        assert "substitute for Chewie_20161014_M1" in footer


# -- Fig3 -----------------------------------------------------------------------------------------
def test_fig3(fig3_spec, captured: Captured) -> None:
    spec = fig3_spec
    fig3.render(spec.inputs, spec.outputs, spec.params)
    check_figures(spec.outputs, captured, spec.params)
    for key, path in spec.outputs.items():
        method, title, what = key.split(":")
        texts = "\n".join(captured[path]["texts"])
        assert spec.params["groups"][title] in texts
        if what == "embeddings":
            sessions = [EmbeddingRun.load(p).session for p in spec.inputs[f"{method}:{title}"]]
        else:
            rot = rotation.load_rotation(spec.inputs[f"{method}:{title}"][0])
            sessions = rot.sessions
            for i, session in enumerate(sessions):
                if session == rot.anchor_session:
                    continue
                if what == "After":
                    assert f"{rot.rmse_before[i]:.3f}\u2192{rot.rmse_after[i]:.3f}" in texts
                    assert rot.rmse_after[i] < rot.rmse_before[i]
                else:
                    assert f"RMSE to anchor {rot.rmse_before[i]:.3f}" in texts
        for session in sessions:
            assert style.session_title(session, short=True) in texts
    rows = fig3.summary(spec.inputs, spec.params)
    assert {r["method"] for r in rows} == {"NER", "UMAP"}


def test_fig3_everything_drawn_is_in_view(fig3_spec) -> None:
    """Every scattered point of the Before/After panels lies inside its axes' limits."""
    for key, paths in fig3_spec.inputs.items():
        if len(paths) != 1:
            continue
        rot = rotation.load_rotation(paths[0])
        for fig in (
            fig3.plot_before(rot, "X", "G", fig3_spec.params),
            fig3.plot_after(rot, "X", "G", fig3_spec.params),
        ):
            for ax in fig.axes:
                limits = [ax.get_xlim(), ax.get_ylim()]
                if hasattr(ax, "get_zlim"):
                    limits.append(ax.get_zlim())
                for coll in ax.collections:
                    pts = (
                        np.column_stack(coll._offsets3d)
                        if hasattr(coll, "_offsets3d")
                        else np.asarray(coll.get_offsets())
                    )
                    for k, (lo, hi) in enumerate(limits):
                        assert lo <= pts[:, k].min() and pts[:, k].max() <= hi, key
            plt.close(fig)


def test_fig3_averages_follow_directions() -> None:
    """PCA's ``avg_train`` rows and dPCA's ``Z_s`` stimuli go to their direction's slot."""
    run = baseline_run("pca", "PCA", "Simia_20240103_M1")
    run.extras["directions"] = np.array([0, 1, 2, 3, 4, 5, 7, 6])
    avg = fig3.session_averages(run)
    np.testing.assert_array_equal(avg.averages[:, :, 6], run.extras["avg_train"][7])
    dpca = baseline_run("dpca", "dPCA", "Simia_20240103_M1")
    got = fig3.session_averages(dpca).averages
    np.testing.assert_array_equal(got[:, :, 3], dpca.extras["Z_s"][:, 3, :].T)
    assert "0.0093" in fig3.session_averages(dpca).note


# -- demo GIF -------------------------------------------------------------------------------------
def test_timeline_is_the_authors() -> None:
    starts, total = demo_gif.timeline(95, 40)
    assert total == 1047
    assert starts[0] == 0 and starts[1] == 20
    assert np.all(np.diff(starts) >= 1)
    shown = demo_gif.points_shown(25, starts, 40)
    assert shown[0] == 26 and shown[1] == 6 and shown[2] == 0
    frames = demo_gif.sampled_frames(total, 4)
    assert frames[0] == 0 and frames[-1] == total - 1 and len(frames) == 263


def test_demo_gif(plan: Plan, example_embedding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = plan.figure("demo_gif")
    footers: list[str] = []
    original = style.add_footer_with_room

    def spy(fig, params, extra=(), **kwargs):
        text = original(fig, params, extra, **kwargs)
        footers.append(text.get_text())
        return text

    monkeypatch.setattr(style, "add_footer_with_room", spy)
    params = {**spec.params, "n_trials": 6, "frame_stride": 10}
    demo_gif.render(spec.inputs, spec.outputs, params)
    with Image.open(spec.outputs["gif"]) as im:
        assert im.format == "GIF"
        assert im.size == (640, 320)
        assert im.n_frames > 1
        _, total = demo_gif.timeline(6, T_DUR)
        assert im.n_frames == len(demo_gif.sampled_frames(total, 10))
        assert im.info["duration"] == 50  # 200 fps / 10
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("L"))
    assert (last < 128).mean() > 0.002  # lines and text drawn
    assert (last[-12:] < 160).any()  # the footer's strip is not blank
    (footer,) = footers
    assert "SIMULATED DATA" in footer and plan.example[0].name in footer
    assert "first 6 training trials" in footer


# -- notebooks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["fig1", "fig2", "fig3", "demo_gif"])
def test_notebook(name: str) -> None:
    path = REPO_ROOT / "workflow" / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    namespace: dict = {}
    exec(tagged[0].source, namespace)  # the notebook's own parameter cell
    assert {k: namespace[k] for k in ("inputs", "outputs", "params")} == {
        "inputs": {},
        "outputs": {},
        "params": {},
    }
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f"from ner_repro.plotting.{name} import render" in code
    assert "render(inputs, outputs, params)" in code
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert json.loads(path.read_text())["nbformat"] == 4


def test_session_key_titles() -> None:
    assert style.session_title("Chewie_20161014_M1") == "Chewie 20161014 M1"
    assert style.session_title("Chewie_20161014_M1", short=True) == "20161014"
    assert SessionKey.parse("Chewie_20161014_M1").date == "20161014"
