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
"""


def figure_image(path: PathLike, dpi: int = 60) -> tuple[str, str]:
    """(mime type, base64 data) of a figure for embedding: PDFs are rasterised to PNG with
    ``pdftoppm`` (poppler) when it is installed, else embedded as PDF."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf" and shutil.which("pdftoppm"):
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
                return "image/png", base64.b64encode(png.read_bytes()).decode("ascii")
            log.warning("pdftoppm failed on %s: %s", path, proc.stderr.strip())
    mime = {
        ".pdf": "application/pdf",
        ".png": "image/png",
        ".gif": "image/gif",
        ".svg": "image/svg+xml",
        ".jpg": "image/jpeg",
    }.get(suffix, "application/octet-stream")
    return mime, base64.b64encode(path.read_bytes()).decode("ascii")


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
                mime, data = figure_image(f)
                src = f"data:{mime};base64,{data}"
                tag = (
                    f"<embed src='{src}' type='application/pdf' width='600' height='450'>"
                    if mime == "application/pdf"
                    else f"<img src='{src}' alt='{e(Path(f).name)}'>"
                )
                parts.append(f"<figure>{tag}<figcaption>{e(Path(f).name)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
