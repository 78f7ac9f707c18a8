"""Evidence attached to correction requests: photos of the paper
certificate, or PDFs.

Every file is checked by its content, never its name:

- a JPEG, PNG or WebP photo is decoded (at most EVIDENCE_MAX_PIXELS, so a
  small file cannot inflate into gigabytes of pixels), turned upright from
  its EXIF orientation, and re-encoded as a JPEG with no metadata at all
  (no EXIF, no GPS position, no camera serial), so what is stored is only
  the picture;
- a PDF must start as one, end as one (nothing appended after ``%%EOF``)
  and carry no script, launch action, embedded file or form (the names
  are looked for in the file and in its compressed streams);
- anything with another format inside it (a "polyglot": a ZIP or an HTML
  page glued to a JPEG, a script in a PNG's tail) is refused, as is a HEIC
  photo (Pillow cannot decode it: the page asks for JPEG), and anything
  that is neither a photo nor a PDF.

Files are stored outside the web root (VACCINATION_PRIVATE_DIR/evidence)
under random names, and served only by ``views.evidence_view`` and the API
to the person and the reviewers, each view audited.
"""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from truyvet.core.errors import FieldError, ServiceError
from truyvet.core.spreadsheets import human_size

EVIDENCE_MAX_PIXELS = 40_000_000  # a 50-megapixel phone photo is 8160 x 6120
LONG_SIDE = 2400  # stored photos are at most this wide or tall
_STORED = re.compile(r"^[0-9a-f]{32}\.(jpg|pdf)$")
_MARKUP = re.compile(rb"<(script|html|body|iframe|\?php)\b", re.IGNORECASE)
_PDF_DANGER = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFile|EmbeddedFiles|RichMedia|XFA|AcroForm|SubmitForm|"
    rb"ImportData|GoToE)\b")
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    content_type: str  # "image/jpeg" or "application/pdf"
    extension: str  # "jpg" or "pdf"
    original_name: str


def _refuse(name: str, message: str, code: str) -> ServiceError:
    return ServiceError(message, code=code, errors=[
        FieldError("files", _("%(name)s: %(problem)s") % {"name": name, "problem": message},
                   code)])


def _clean_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", PurePath(raw or "").name)
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '\\/:*?"<>|')
    return name[-120:] or "tep"


def _kind(head: bytes) -> str:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    return ""


def _tail_after_image(data: bytes, kind: str) -> bytes:
    """What follows the image's own end marker: nothing in an honest file."""
    if kind == "jpeg":
        end = data.rfind(b"\xff\xd9")
        return data[end + 2:] if end >= 0 else b""
    if kind == "png":
        end = data.rfind(b"IEND")
        return data[end + 8:] if end >= 0 else b""
    if kind == "webp" and len(data) >= 8:
        declared = int.from_bytes(data[4:8], "little") + 8
        return data[declared:]
    return b""


# Formats that have no business after a photo's end. Phones do append
# harmless trailers (Samsung's "SEFT" block, a Pixel motion photo's video),
# which re-encoding drops; an archive, a document or a program is refused.
_SMUGGLED = (b"PK\x03\x04", b"%PDF-", b"Rar!", b"7z\xbc\xaf\x27\x1c", b"MZ\x90\x00")


def _is_polyglot(data: bytes, kind: str) -> bool:
    """Another format glued after the image's end (the usual polyglot: a
    JPEG that is also a ZIP), or markup a browser would run, anywhere. A
    PDF's tail is checked by ``_pdf_problem``."""
    tail = _tail_after_image(data, kind) if kind != "pdf" else b""
    if any(marker in tail for marker in _SMUGGLED):
        return True
    return bool(_MARKUP.search(data))


def _reencode(data: bytes, name: str) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; ours is lower anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
        with probe:
            width, height = probe.size
            if width * height > EVIDENCE_MAX_PIXELS:
                raise _refuse(name, _("Ảnh có kích thước điểm ảnh quá lớn (%(w)s × %(h)s).")
                              % {"w": width, "h": height}, "too_many_pixels")
            probe.load()
            upright = ImageOps.exif_transpose(probe)
            picture = upright.convert("RGB")
    except ServiceError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _refuse(name, _("Ảnh có kích thước điểm ảnh quá lớn."), "too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse(name, _("Ảnh bị hỏng hoặc không đọc được."), "bad_image") from None
    picture.thumbnail((LONG_SIDE, LONG_SIDE))
    out = io.BytesIO()
    # No exif=, no icc_profile=: nothing but the pixels is written.
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _pdf_problem(data: bytes) -> str | None:
    stripped = data.rstrip(b"\x00\r\n\t ")
    if not stripped.endswith(b"%%EOF"):
        return _("Tệp PDF bị cắt dở hoặc có dữ liệu lạ gắn phía sau.")
    texts = [data]
    budget = 50 * 1024 * 1024  # decompressed bytes looked at, in total
    for stream in _PDF_STREAM.finditer(data):
        try:
            inflater = zlib.decompressobj()
            chunk = inflater.decompress(stream.group(1), min(budget, 8 * 1024 * 1024))
        except zlib.error:
            continue
        budget -= len(chunk)
        texts.append(chunk)
        if budget <= 0:
            return _("Tệp PDF giải nén ra quá lớn.")
    for text in texts:
        names = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text)
        if _PDF_DANGER.search(names):
            return _("Tệp PDF có mã lệnh, biểu mẫu hoặc tệp đính kèm: chỉ nhận ảnh chụp hoặc "
                     "PDF thông thường.")
        if _MARKUP.search(text):
            return _("Tệp chứa mã HTML hoặc mã lệnh ẩn bên trong.")
    return None


def evidence_check(files: Sequence[tuple[str, IO[bytes]]]) -> list[Cleaned]:
    """Reads, checks and cleans each file; raises ServiceError naming the
    first file that is refused and why (nothing is stored then)."""
    limit = settings.VACCINATION_EVIDENCE_MAX_BYTES
    cleaned = []
    for raw_name, handle in files:
        name = _clean_name(raw_name)
        data = handle.read(limit + 1)
        if len(data) > limit:
            raise _refuse(name, _("Tệp quá lớn: tối đa %(size)s mỗi tệp.")
                          % {"size": human_size(limit)}, "file_too_large")
        if not data:
            raise _refuse(name, _("Tệp trống."), "empty_file")
        kind = _kind(data[:16])
        if kind == "heic":
            raise _refuse(name, _("Ảnh HEIC chưa được hỗ trợ: hãy chụp hoặc lưu ảnh dạng JPEG."),
                          "heic")
        if not kind:
            raise _refuse(name, _("Chỉ nhận ảnh (JPEG, PNG, WebP) hoặc tệp PDF."),
                          "unsupported_file")
        if _is_polyglot(data, kind):
            raise _refuse(name, _("Tệp chứa thêm một định dạng khác bên trong (tệp đa định "
                                  "dạng): hãy gửi ảnh chụp hoặc PDF gốc."), "polyglot")
        if kind == "pdf":
            problem = _pdf_problem(data)
            if problem is not None:
                raise _refuse(name, problem, "unsafe_pdf")
            cleaned.append(Cleaned(data, "application/pdf", "pdf", name))
        else:
            cleaned.append(Cleaned(_reencode(data, name), "image/jpeg", "jpg", name))
    return cleaned


def evidence_dir() -> Path:
    folder = Path(settings.VACCINATION_PRIVATE_DIR) / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def evidence_store(item: Cleaned) -> str:
    """Writes a cleaned file under a random name; returns the name."""
    name = f"{secrets.token_hex(16)}.{item.extension}"
    path = evidence_dir() / name
    with open(path, "xb") as out:
        out.write(item.data)
    path.chmod(0o600)
    return name


def evidence_path(stored_name: str) -> Path:
    if not _STORED.match(stored_name or ""):
        raise ValueError("not a stored evidence name")
    return evidence_dir() / stored_name


def evidence_remove(names: Iterable[str]) -> None:
    for name in names:
        try:
            evidence_path(name).unlink(missing_ok=True)
        except ValueError:
            continue


def evidence_read(stored_name: str) -> bytes:
    """The stored file (at most VACCINATION_EVIDENCE_MAX_BYTES)."""
    return evidence_path(stored_name).read_bytes()
