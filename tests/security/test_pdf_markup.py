"""Names typed by anyone are never read as PDF markup (issue 12, item 3).

reportlab reads a paragraph's text as markup. Before the fix, a venue named
with an unbalanced ``<b>`` made the commune, district and province reports
and the case timeline fail (500), ``<img src="...">`` embedded a file from
the server's disk into an officer's report, and ``<a href>`` added a link.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.security.export_stage import PDF, build_stage, every_export, pdf_text

ROOT = Path(__file__).resolve().parents[2] / "truyvet"


def _pdfs(stage: Any) -> dict[str, bytes]:
    return {e.label: e.content for e in every_export(stage) if e.kind == PDF}


def _squashed(text: str) -> str:
    return "".join(text.split())


def test_an_unbalanced_bold_tag_in_a_venue_name_prints_as_text_in_every_pdf(
    personas: Any,
) -> None:
    stage = build_stage(personas, venue_name="<b>Quán <i>Ăn Đêm")

    pdfs = _pdfs(stage)  # a 500 fails inside

    for label in ("report commune pdf", "report district pdf", "report province pdf",
                  "timeline pdf", "poster", "posters of a commune"):
        assert "<b>Quán<i>ĂnĐêm" in _squashed(pdf_text(pdfs[label])), label


def test_an_image_tag_in_a_venue_name_does_not_embed_a_file_from_the_server(
    personas: Any, tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (37, 23), (200, 0, 0)).save(secret)
    stage = build_stage(personas, venue_name=f'<img src="{secret}" width="37" height="23"/>Quán',
                        street=f'<img src="{secret}"/>')

    pdfs = _pdfs(stage)

    for label in ("report commune pdf", "report district pdf", "report province pdf",
                  "timeline pdf"):
        # The file's own 37 × 23 picture is nowhere in it (the charts are larger).
        assert b"/Width 37" not in pdfs[label], label
        assert f'<imgsrc="{secret}"' in _squashed(pdf_text(pdfs[label])), label
    assert b"/Subtype /Image" not in pdfs["timeline pdf"]


def test_a_link_tag_in_a_name_adds_no_link(personas: Any) -> None:
    stage = build_stage(personas, venue_name='<a href="https://evil.example/x">Bấm vào đây</a>',
                        person_name='<a href="https://evil.example/y">Lê Thị Hà</a>')

    pdfs = _pdfs(stage)

    for label, content in pdfs.items():
        assert b"/URI" not in content and b"/Annot" not in content, label
    assert '<ahref="https://evil.example/x">Bấmvàođây</a>' in _squashed(
        pdf_text(pdfs["report district pdf"]))
    assert '<ahref="https://evil.example/y">LêThịHà</a>' in _squashed(
        pdf_text(pdfs["timeline pdf"]))


@pytest.mark.parametrize("name", ["&lt;b&gt;Quán", "Quán &amp; Bar", "Tạp hoá <br/> 24h",
                                  "<para>Quán</para>", "<font size=90>To</font>"])
def test_entities_and_other_tags_are_shown_as_typed(personas: Any, name: str) -> None:
    stage = build_stage(personas, venue_name=name)

    text = _squashed(pdf_text(_pdfs(stage)["report district pdf"]))

    assert _squashed(name) in text


# --- One owner of PDF set-up ----------------------------------------------------------------


def _python_files() -> list[Path]:
    return [path for path in ROOT.rglob("*.py") if "tests" not in path.parts]


def test_only_core_pdf_builds_paragraphs_and_registers_fonts() -> None:
    """So that no producer can put a string into a paragraph unescaped:
    every other module goes through ``core.pdf.paragraph``."""
    offenders = []
    for path in _python_files():
        if path == ROOT / "core" / "pdf.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and "reportlab" in node.module:
                names = {alias.name for alias in node.names}
                if names & {"Paragraph", "TTFont", "ParagraphStyle"}:
                    offenders.append(f"{path.relative_to(ROOT)}: imports {sorted(names)}")
            if isinstance(node, ast.Attribute) and node.attr in ("registerFont", "Paragraph"):
                offenders.append(f"{path.relative_to(ROOT)}: uses {node.attr}")
    assert offenders == []
