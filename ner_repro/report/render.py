"""Rendering the report's document (:class:`~ner_repro.report.document.Block` list) as Markdown
and as a self-contained HTML page (figures embedded as base64 PNG/GIF; PDFs rasterised with
poppler's ``pdftoppm`` where installed, :func:`figure_image`)."""

from __future__ import annotations

import base64
import html
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ner_repro.core.types import PathLike
from ner_repro.report.document import Block, _md_cell

log = logging.getLogger(__name__)


def render_markdown(doc: Sequence[Block], out_dir: PathLike) -> str:
    """The document as Markdown; figure files are linked relative to ``out_dir``."""
    lines: list[str] = []
    for b in doc:
        if b.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "ul":
            lines += [f"- {i}" for i in b.items] + [""]
        elif b.kind == "table":
            lines.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
            lines.append("|" + "---|" * len(b.columns))
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            lines.append("")
        elif b.kind == "figures":
            for f in b.files:
                rel = os.path.relpath(f, out_dir)
                lines.append(f"- [{Path(f).name}]({rel})")
            lines.append("")
        elif b.kind == "pair":
            lines.append(f"#### {b.text}")
            lines.append("")
            if b.url:
                lines.append(f"- published: [{b.text}]({b.url})")
            lines += [f"- ours: [{Path(f).name}]({os.path.relpath(f, out_dir)})" for f in b.files]
            lines += [f"- {note}" for note in b.items]
            lines.append("")
            if b.rows:
                lines.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
                lines.append("|" + "---|" * len(b.columns))
                lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
                lines.append("")
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;
max-width:1600px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 5px;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0}
td.v-reproduced{background:#dff0d8} td.v-not-reproduced{background:#f2dede}
td.v-not-comparable{background:#fcf8e3} td.v-not-computable{background:#eee}
.banner{background:#fcf8e3;border:1px solid #e0c060;padding:0.6em;font-weight:bold}
figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:48%}
figure img,figure embed{max-width:100%;border:1px solid #ddd}
figcaption{font-size:11px;color:#555}
.pair{border-top:1px solid #ccc;padding:0.4em 0 0.8em}
.pair h4{margin:0.3em 0}
.sides{display:flex;gap:1em;align-items:flex-start}
.side{flex:1 1 0;min-width:0}
.side img{max-width:100%;height:auto;border:1px solid #ddd;display:block;margin-bottom:0.3em}
.side .label{font-size:12px;font-weight:bold;color:#555;margin-bottom:0.2em}
.absent{color:#8a6d3b;font-style:italic;font-size:12px}
.notes{font-size:12px;color:#555}
.pair table{display:block;max-width:100%;overflow-x:auto}
"""


def rasterise_pdf(path: PathLike, dpi: int) -> tuple[bytes | None, str]:
    """The first page of a PDF as PNG bytes, rendered by poppler's ``pdftoppm``; ``(None, why)``
    when pdftoppm is not installed or fails."""
    if shutil.which("pdftoppm") is None:
        return None, "pdftoppm (poppler-utils) is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "page"
        proc = subprocess.run(
            ["pdftoppm", "-png", "-singlefile", "-r", str(dpi), str(path), str(stem)],
            capture_output=True,
            text=True,
            check=False,
        )
        png = stem.with_suffix(".png")
        if proc.returncode == 0 and png.is_file():
            return png.read_bytes(), ""
        return None, f"pdftoppm failed: {proc.stderr.strip()}"


def figure_image(path: PathLike, dpi: int = 60) -> tuple[str, str]:
    """(mime type, base64 data) of a figure for embedding: PDFs are rasterised to PNG with
    ``pdftoppm`` (poppler) when it is installed, else embedded as PDF."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        png, why = rasterise_pdf(path, dpi)
        if png is not None:
            return "image/png", base64.b64encode(png).decode("ascii")
        log.warning("%s: embedded as PDF: %s", path, why)
    mime = {
        ".pdf": "application/pdf",
        ".png": "image/png",
        ".gif": "image/gif",
        ".svg": "image/svg+xml",
        ".jpg": "image/jpeg",
    }.get(suffix, "application/octet-stream")
    return mime, base64.b64encode(path.read_bytes()).decode("ascii")


def _image_tag(path: str) -> str:
    mime, data = figure_image(path)
    src = f"data:{mime};base64,{data}"
    if mime == "application/pdf":
        return f"<embed src='{src}' type='application/pdf' width='600' height='450'>"
    return f"<img src='{src}' alt='{html.escape(Path(path).name)}'>"


def _pair_html(b: Block) -> str:
    e = html.escape
    source = f" · <a href='{e(b.url)}'>public file</a>" if b.url else ""
    if b.published and Path(b.published).is_file():
        left = _image_tag(b.published)
    else:
        left = (
            "<p class='absent'>not shown (see below)</p>"
            if b.url
            else ("<p class='absent'>none: a panel of ours only</p>")
        )
    right = (
        "".join(
            _image_tag(f) if Path(f).is_file() else f"<p class='absent'>not built yet: {e(f)}</p>"
            for f in b.files
        )
        or "<p class='absent'>none (see below)</p>"
    )
    parts = [
        f"<div class='pair'><h4>{e(b.text)}</h4><div class='sides'>",
        f"<div class='side'><div class='label'>published (the authors){source}</div>{left}</div>",
        f"<div class='side'><div class='label'>ours</div>{right}</div></div>",
    ]
    if b.items:
        parts.append("<ul class='notes'>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
    if b.rows:
        head = "".join(f"<th>{e(c)}</th>" for c in b.columns)
        vcol = b.columns.index("verdict") if "verdict" in b.columns else -1
        body = "".join(
            "<tr>"
            + "".join(
                f"<td class='v-{str(c).split(' (')[0].replace(' ', '-')}'>{e(str(c))}</td>"
                if i == vcol
                else f"<td>{e(str(c))}</td>"
                for i, c in enumerate(r)
            )
            + "</tr>"
            for r in b.rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</div>")
    return "".join(parts)


def render_html(doc: Sequence[Block]) -> str:
    """The document as one self-contained HTML page (figures embedded)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>NER reproduction report</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    for b in doc:
        if b.kind in ("h1", "h2", "h3"):
            anchor = "".join(ch if ch.isalnum() else "-" for ch in b.text.lower())[:60]
            parts.append(f"<{b.kind} id='{anchor}'>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            cls = " class='banner'" if b.text.startswith("SIMULATED DATA") else ""
            parts.append(f"<p{cls}>{e(b.text)}</p>")
        elif b.kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{e(c)}</th>" for c in b.columns)
            body = []
            vcol = b.columns.index("verdict") if "verdict" in b.columns else -1
            for r in b.rows:
                cells = []
                for i, c in enumerate(r):
                    cls = ""
                    if i == vcol:
                        cls = f" class='v-{str(c).split(' (')[0].replace(' ', '-')}'"
                    cells.append(f"<td{cls}>{e(str(c))}</td>")
                body.append("<tr>" + "".join(cells) + "</tr>")
            parts.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            )
        elif b.kind == "figures":
            current = None
            for f in b.files:
                folder = Path(f).parent.name
                if folder != current:
                    parts.append(f"<h3>{e(folder)}</h3>")
                    current = folder
                if not Path(f).is_file():
                    parts.append(f"<p>missing: {e(f)}</p>")
                    continue
                tag = _image_tag(f)
                parts.append(f"<figure>{tag}<figcaption>{e(Path(f).name)}</figcaption></figure>")
        elif b.kind == "pair":
            parts.append(_pair_html(b))
    parts.append("</body></html>")
    return "\n".join(parts)
