"""Reading what a controller's scanner returns: our personal QR, the chip ID
card (CCCD) QR, the national personal QR of PC-Covid/VNEID, or a venue poster.

The formats are in BRIEF §4 and context/vietnam.md §1c and §3:

    CCCD      CCCD|CMND|HoTen|DDMMYYYY|GioiTinh|DiaChi|DDMMYYYY
              (old CMND may be empty; the 2024 card adds trailing fields)
    national  SoGiayTo|HoTen|NgaySinh|LoaiDinhDanh|QID|EXT
              (ID may be masked in its first 6 characters, NgaySinh may be
              masked "****-**-**" / "1987-**-**", EXT is split on "<")

Parsers only read; a malformed payload raises ServiceError (code
``cccd_malformed`` or ``national_qr_malformed``) whose ``errors`` name each
problem, so the door screen says what is wrong and nothing is recorded.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.identity import IdentityError, validate_cccd
from truyvet.accounts.models import IdKind, Sex
from truyvet.core.errors import ErrorCollector, ServiceError
from truyvet.core.text import clean_line, fold

MAX_PAYLOAD_CHARS = 2000
CCCD_FIELDS = 7
NATIONAL_FIELDS = 6


class PayloadKind(enum.StrEnum):
    PERSONAL_QR = "personal_qr"
    CCCD = "cccd"
    NATIONAL_QR = "national_qr"
    VENUE = "venue"
    UNKNOWN = "unknown"


def _clean(text: str) -> str:
    """NFC (scanners may send decomposed Vietnamese), without the line end a
    keyboard-wedge scanner appends."""
    return unicodedata.normalize("NFC", text or "").strip().strip("\r\n")


_VENUE_URL = re.compile(r"https?://[^\s|]+/v/[^\s|]+", re.IGNORECASE)
_MASKABLE_DATE = re.compile(r"[0-9*]{4}(-[0-9*]{2}-[0-9*]{2})?")


def classify_payload(text: str) -> PayloadKind:
    """Which kind of code a scanned text is. Decides by shape only, so that
    a damaged CCCD payload is still reported as a bad CCCD, not as unknown."""
    payload = _clean(text)
    if not payload or len(payload) > MAX_PAYLOAD_CHARS:
        return PayloadKind.UNKNOWN
    if payload.upper().startswith("TV1."):
        return PayloadKind.PERSONAL_QR
    if _VENUE_URL.fullmatch(payload):
        return PayloadKind.VENUE
    if "|" not in payload:
        return PayloadKind.UNKNOWN
    fields = payload.split("|")
    first = fields[0].strip()
    third = fields[2].strip() if len(fields) > 2 else ""
    fourth = fields[3].strip() if len(fields) > 3 else ""
    # The national QR has a YYYY-MM-DD birth date (maybe masked) third and
    # 0/1 fourth; the CCCD has a name third and a DDMMYYYY date fourth.
    if "-" in third and _MASKABLE_DATE.fullmatch(third):
        return PayloadKind.NATIONAL_QR
    if "*" in first or fourth in {"0", "1"}:
        return PayloadKind.NATIONAL_QR
    if re.fullmatch(r"\d{8}", fourth) or first.isdigit():
        return PayloadKind.CCCD
    return PayloadKind.UNKNOWN


def _parse_ddmmyyyy(
    value: str, field_name: str, errors: ErrorCollector, label: str | Promise
) -> date | None:
    value = value.strip()
    if not re.fullmatch(r"\d{8}", value):
        errors.add(
            field_name,
            _("%(label)s phải có dạng NNTTNNNN (8 chữ số), nhận được “%(value)s”.")
            % {"label": label, "value": value[:20]},
            "bad_date",
        )
        return None
    try:
        parsed = date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        errors.add(
            field_name,
            _("%(label)s không phải ngày có thật: %(value)s.") % {"label": label, "value": value},
            "bad_date",
        )
        return None
    if parsed > timezone.localdate() or parsed.year < 1900:
        errors.add(
            field_name,
            _("%(label)s nằm ngoài khoảng hợp lệ: %(value)s.") % {"label": label, "value": value},
            "bad_date",
        )
        return None
    return parsed


def _sex_from_label(value: str) -> str | None:
    folded = fold(value)
    if folded == "nam":
        return Sex.MALE
    if folded == "nu":
        return Sex.FEMALE
    return None


def _name(value: str, errors: ErrorCollector, field_name: str) -> str:
    # A printed card holds no control characters; a forged QR could
    # (core.text): the name would be stored and printed.
    name = clean_line(value, errors, field_name)
    if not name:
        errors.add(field_name, _("Thiếu họ và tên."), "required")
    elif len(name) > 120:
        errors.add(field_name, _("Họ và tên dài quá 120 ký tự."), "too_long")
    elif any(ch.isdigit() for ch in name):
        errors.add(field_name, _("Họ và tên không được chứa chữ số."), "invalid")
    return name


# --- CCCD ------------------------------------------------------------------------


@dataclass(frozen=True)
class CccdCard:
    cccd: str
    cmnd: str  # the old 9-digit number, or ""
    full_name: str
    birth_date: date
    sex: str  # a Sex value
    address: str
    issue_date: date
    extra: tuple[str, ...] = field(default=())  # trailing fields of the 2024 card


CCCD_MALFORMED = _("Mã QR trên CCCD không hợp lệ.")


def parse_cccd_qr(text: str) -> CccdCard:
    """Reads the chip ID card's QR; raises ServiceError ``cccd_malformed``
    listing every problem found."""
    payload = _clean(text)
    fields = payload.split("|")
    if len(fields) < CCCD_FIELDS:
        errors = ErrorCollector()
        errors.add(
            "payload",
            _("Mã QR trên CCCD phải có %(expected)s trường ngăn cách bởi “|”, "
              "mã này chỉ có %(found)s.") % {"expected": CCCD_FIELDS, "found": len(fields)},
            "missing_fields",
        )
        raise ServiceError(CCCD_MALFORMED, code="cccd_malformed", errors=errors.errors)
    raw_cccd, raw_cmnd, raw_name, raw_birth, raw_sex, raw_address, raw_issue = (
        part.strip() for part in fields[:CCCD_FIELDS]
    )
    errors = ErrorCollector()
    if not re.fullmatch(r"\d{12}", raw_cccd):
        errors.add(
            "cccd",
            _("Số CCCD phải gồm đúng 12 chữ số, mã này có “%(value)s” (%(count)s ký tự).")
            % {"value": raw_cccd[:20], "count": len(raw_cccd)},
            "bad_digits",
        )
    if raw_cmnd and not re.fullmatch(r"\d{9}|\d{12}", raw_cmnd):
        errors.add("cmnd", _("Số CMND cũ phải gồm 9 hoặc 12 chữ số."), "bad_digits")
    name = _name(raw_name, errors, "full_name")
    birth_date = _parse_ddmmyyyy(raw_birth, "birth_date", errors, _("Ngày sinh"))
    sex = _sex_from_label(raw_sex)
    if sex is None:
        errors.add(
            "sex", _("Giới tính phải là “Nam” hoặc “Nữ”, nhận được “%(value)s”.")
            % {"value": raw_sex[:10]}, "bad_sex",
        )
    issue_date = _parse_ddmmyyyy(raw_issue, "issue_date", errors, _("Ngày cấp"))
    if birth_date and issue_date and issue_date < birth_date:
        errors.add("issue_date", _("Ngày cấp CCCD trước ngày sinh."), "bad_date")
    if not errors.errors:
        assert birth_date is not None and sex is not None
        try:
            validate_cccd(raw_cccd, birth_year=birth_date.year, sex=sex)
        except IdentityError as exc:
            errors.add("cccd", exc.message, "bad_cccd")
    if errors.errors:
        raise ServiceError(CCCD_MALFORMED, code="cccd_malformed", errors=errors.errors)
    assert birth_date is not None and issue_date is not None and sex is not None
    return CccdCard(
        cccd=raw_cccd, cmnd=raw_cmnd, full_name=name, birth_date=birth_date, sex=sex,
        address=" ".join(raw_address.split()), issue_date=issue_date,
        extra=tuple(part.strip() for part in fields[CCCD_FIELDS:] if part.strip()),
    )


# --- National QR -------------------------------------------------------------------


@dataclass(frozen=True)
class NationalQrExt:
    """EXT, "<"-separated: proxy declarer's QID, sex (0 unknown, 1 male,
    2 female), BHYT card number, phone, e-signature. Apps omit empty parts,
    so each is recognised by its shape; every part is kept in ``parts``."""

    parts: tuple[str, ...] = ()
    proxy_qid: str = ""
    sex: str = ""  # a Sex value or ""
    bhyt: str = ""
    phone: str = ""  # as written, possibly masked
    signature: str = ""


@dataclass(frozen=True)
class NationalQr:
    id_number: str  # as printed; masked ones start with "*"
    id_masked: bool
    id_kind: str  # an IdKind value, or "" when masked beyond recognition
    full_name: str  # upper case, no diacritics, as the QR carries it
    birth_date: date | None  # None when day or month is masked
    birth_year: int | None
    proxy_declared: bool  # LoaiDinhDanh 1: declared on someone's behalf
    qid: str
    ext: NationalQrExt


NATIONAL_MALFORMED = _("Mã QR cá nhân quốc gia (PC-Covid/VNEID) không hợp lệ.")
_EXT_SEX = {"1": Sex.MALE, "2": Sex.FEMALE}


def _parse_ext(raw: str) -> NationalQrExt:
    parts = tuple(part.strip() for part in raw.split("<")) if raw.strip() else ()
    proxy_qid = sex = bhyt = phone = signature = ""
    sex_seen = False
    for part in parts:
        if not part:
            continue
        if not sex_seen and part in {"0", "1", "2"}:
            sex, sex_seen = _EXT_SEX.get(part, ""), True
        elif not bhyt and re.fullmatch(r"[A-Z]{2}[0-9*]{8,13}", part):
            bhyt = part
        elif not phone and re.fullmatch(r"(\+84|0)[0-9*]{8,10}", part):
            phone = part
        elif not sex_seen and not proxy_qid and re.fullmatch(r"[0-9A-Za-z]{6,40}", part):
            proxy_qid = part
        elif not signature:
            signature = part
    return NationalQrExt(
        parts=parts, proxy_qid=proxy_qid, sex=sex, bhyt=bhyt, phone=phone, signature=signature
    )


def _parse_masked_birth(
    value: str, errors: ErrorCollector
) -> tuple[date | None, int | None]:
    value = value.strip()
    match = re.fullmatch(r"([0-9]{4}|\*{4})(?:-([0-9]{2}|\*{2})-([0-9]{2}|\*{2}))?", value)
    if match is None:
        errors.add(
            "birth_date",
            _("Ngày sinh phải có dạng NNNN-TT-NN (có thể che bằng *), nhận được “%(value)s”.")
            % {"value": value[:20]},
            "bad_date",
        )
        return None, None
    year_text, month_text, day_text = match.groups()
    year = None if "*" in year_text else int(year_text)
    today = timezone.localdate()
    if year is not None and not 1900 <= year <= today.year:
        errors.add(
            "birth_date", _("Năm sinh %(year)s nằm ngoài khoảng hợp lệ.") % {"year": year},
            "bad_date",
        )
        return None, None
    month_bad = bool(month_text) and "*" not in month_text and not 1 <= int(month_text) <= 12
    day_bad = bool(day_text) and "*" not in day_text and not 1 <= int(day_text) <= 31
    if month_bad or day_bad:
        errors.add(
            "birth_date", _("Ngày sinh không phải ngày có thật: %(value)s.") % {"value": value},
            "bad_date",
        )
        return None, None
    if year is None or not month_text or "*" in month_text or not day_text or "*" in day_text:
        return None, year
    try:
        birth_date = date(year, int(month_text), int(day_text))
    except ValueError:
        errors.add(
            "birth_date", _("Ngày sinh không phải ngày có thật: %(value)s.") % {"value": value},
            "bad_date",
        )
        return None, None
    if birth_date > today:
        errors.add("birth_date", _("Ngày sinh ở tương lai."), "bad_date")
        return None, None
    return birth_date, year


def _parse_document(raw: str, errors: ErrorCollector) -> tuple[str, bool, str]:
    number = raw.strip().upper()
    if not number:
        errors.add("id_number", _("Thiếu số giấy tờ."), "required")
        return "", False, ""
    masked = number.startswith("*")
    if masked:
        match = re.fullmatch(r"(\*{1,6})([0-9A-Z]+)", number)
        if match is None:
            errors.add(
                "id_number",
                _("Số giấy tờ chỉ được che tối đa 6 ký tự đầu bằng dấu *."), "bad_mask",
            )
            return number, True, ""
        rest = match.group(2)
        if rest.isdigit() and len(number) in (9, 12):
            return number, True, IdKind.CMND if len(number) == 9 else IdKind.CCCD
        if rest.isdigit():
            errors.add(
                "id_number",
                _("Số CMND/CCCD phải gồm 9 hoặc 12 chữ số, mã này có %(count)s.")
                % {"count": len(number)},
                "bad_digits",
            )
            return number, True, ""
        return number, True, IdKind.PASSPORT
    if number.isdigit():
        if len(number) == 9:
            return number, False, IdKind.CMND
        if len(number) == 12:
            try:
                validate_cccd(number)
            except IdentityError as exc:
                errors.add("id_number", exc.message, "bad_cccd")
            return number, False, IdKind.CCCD
        errors.add(
            "id_number",
            _("Số CMND/CCCD phải gồm 9 hoặc 12 chữ số, mã này có %(count)s.")
            % {"count": len(number)},
            "bad_digits",
        )
        return number, False, ""
    if re.fullmatch(r"[A-Z0-9]{6,9}", number):
        return number, False, IdKind.PASSPORT
    errors.add("id_number", _("Số giấy tờ không hợp lệ."), "invalid")
    return number, False, ""


def parse_national_qr(text: str) -> NationalQr:
    """Reads the national personal QR (MIC guidance v1.1); raises
    ServiceError ``national_qr_malformed`` listing every problem found."""
    payload = _clean(text)
    fields = payload.split("|")
    if len(fields) < NATIONAL_FIELDS - 1:
        errors = ErrorCollector()
        errors.add(
            "payload",
            _("Mã QR cá nhân quốc gia phải có %(expected)s trường ngăn cách bởi “|”, "
              "mã này chỉ có %(found)s.") % {"expected": NATIONAL_FIELDS, "found": len(fields)},
            "missing_fields",
        )
        raise ServiceError(NATIONAL_MALFORMED, code="national_qr_malformed", errors=errors.errors)
    # EXT is often left off entirely when empty; anything after it is ignored.
    raw_id, raw_name, raw_birth, raw_kind, raw_qid = (part.strip() for part in fields[:5])
    raw_ext = fields[5] if len(fields) > 5 else ""
    errors = ErrorCollector()
    id_number, id_masked, id_kind = _parse_document(raw_id, errors)
    name = _name(raw_name, errors, "full_name")
    birth_date, birth_year = _parse_masked_birth(raw_birth, errors)
    ext = _parse_ext(raw_ext)
    if id_kind == IdKind.CCCD and not id_masked and not errors.errors:
        # A full CCCD number encodes the century, sex and year of birth.
        try:
            validate_cccd(id_number, birth_year=birth_year, sex=ext.sex)
        except IdentityError as exc:
            errors.add("id_number", exc.message, "bad_cccd")
    if raw_kind not in {"0", "1"}:
        errors.add(
            "declaration_kind",
            _("Loại định danh phải là 0 (tự khai) hoặc 1 (khai hộ), nhận được “%(value)s”.")
            % {"value": raw_kind[:5]},
            "invalid",
        )
    if not re.fullmatch(r"[0-9A-Za-z]{6,40}", raw_qid):
        errors.add(
            "qid", _("Mã QID thiếu hoặc không hợp lệ (6 đến 40 chữ số hoặc chữ cái)."), "invalid"
        )
    if errors.errors:
        raise ServiceError(NATIONAL_MALFORMED, code="national_qr_malformed", errors=errors.errors)
    return NationalQr(
        id_number=id_number, id_masked=id_masked, id_kind=id_kind, full_name=name,
        birth_date=birth_date, birth_year=birth_year, proxy_declared=raw_kind == "1",
        qid=raw_qid, ext=ext,
    )


# --- Camera frames -------------------------------------------------------------------

FRAME_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
FRAME_MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class DecodedCode:
    text: str
    format: str
    kind: PayloadKind


def decode_frame(data: bytes, *, content_type: str, max_bytes: int) -> list[DecodedCode]:
    """The QR codes in a camera frame (PNG, JPEG or WebP of at most
    ``max_bytes``), decoded with zxing-cpp: the fallback for browsers
    without BarcodeDetector. Raises ServiceError ``frame_invalid`` for
    anything that is not such an image."""
    import io

    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    def refuse(message: str | Promise) -> ServiceError:
        return ServiceError(message, code="frame_invalid")

    if content_type not in FRAME_TYPES:
        raise refuse(_("Ảnh phải là PNG, JPEG hoặc WebP."))
    if not data:
        raise refuse(_("Ảnh trống."))
    if len(data) > max_bytes:
        raise refuse(
            _("Ảnh quá lớn (tối đa %(kb)s KB).") % {"kb": max_bytes // 1024}
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            # The header alone: refuse decompression bombs before decoding.
            if probe.format != FRAME_TYPES[content_type]:
                raise refuse(_("Nội dung ảnh không khớp với loại ảnh đã khai báo."))
            width, height = probe.size
            if width * height > FRAME_MAX_PIXELS:
                raise refuse(_("Ảnh có quá nhiều điểm ảnh."))
            image = probe.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise refuse(_("Không đọc được ảnh.")) from None
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [
        DecodedCode(text=code.text, format=str(code.format.name), kind=classify_payload(code.text))
        for code in found
        if code.valid and code.text
    ]
