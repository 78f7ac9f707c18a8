"""Reading the cells of a site's list, and the details of a person, as
people write them: dates as Excel dates or "dd/mm/yyyy" text, "Nam"/"Nữ",
phone numbers and CCCD numbers in any spacing, doses as "1", "Mũi 2" or
"Nhắc lại", addresses as province, district and commune names.

Each function returns a value and, when the cell cannot be read, a
``Finding`` whose code has a message in ``MESSAGES``, so that the import can
store codes and show them in the reader's language, and the entry form can
show the same messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from truyvet.accounts.identity import IdentityError, guess_id_kind, validate_identity_number
from truyvet.accounts.models import Sex
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.core.spreadsheets import cell_text
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit, Level, Scheme
from truyvet.vaccination.models import DoseKind
from truyvet.vaccination.rules import MESSAGES, Finding

MESSAGES.update({
    "required": _("Ô này không được để trống."),
    "bad_date": _("Không đọc được ngày “%(value)s”: hãy ghi theo dạng ngày/tháng/năm, ví dụ "
                  "25/10/2021."),
    "bad_birth": _("Không đọc được ngày sinh “%(value)s”: hãy ghi ngày/tháng/năm hoặc năm sinh."),
    "birth_future": _("Ngày sinh ở tương lai."),
    "birth_too_old": _("Năm sinh trước 1900."),
    "bad_sex": _("Giới tính “%(value)s” không hợp lệ: ghi Nam, Nữ hoặc Khác."),
    "bad_phone": _("“%(value)s”: %(reason)s"),
    "bad_id": _("“%(value)s”: %(reason)s"),
    "no_identity": _("Cần số CMND/CCCD hoặc số điện thoại để nhận ra người được tiêm."),
    "name_too_long": _("Họ và tên dài quá 120 ký tự."),
    "control_character": _("Có ký tự điều khiển hoặc ký tự đảo chiều văn bản không hiển thị "
                           "được; hãy gõ lại ô này."),
    "bad_dose": _("Không đọc được mũi tiêm “%(value)s”: ghi số mũi (1, 2, 3), “Nhắc lại” hoặc "
                  "“Bổ sung”."),
    "lot_too_long": _("Số lô dài quá 40 ký tự."),
    "reason_too_long": _("Ghi chú dài quá 300 ký tự."),
    "unknown_province": _("Không tìm thấy tỉnh “%(value)s”."),
    "unknown_district": _("Không tìm thấy huyện “%(value)s” trong %(parent)s."),
    "unknown_commune": _("Không tìm thấy xã “%(value)s” trong %(parent)s."),
    "address_incomplete": _("Địa chỉ cần đủ tỉnh, huyện và xã để xác định nơi ở."),
    "id_conflict": _("Số CMND/CCCD này đã gắn với %(name)s, sinh %(birth)s: họ tên hoặc ngày "
                     "sinh khác với dòng này."),
    "ambiguous_person": _("Có %(count)s người trùng số điện thoại, họ tên và ngày sinh này; "
                          "hãy ghi số CMND/CCCD để phân biệt."),
    "ambiguous_in_file": _("Người này (số điện thoại, họ tên, ngày sinh) ứng với nhiều số "
                           "CMND/CCCD khác nhau trong tệp."),
})

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug)
_DATE_TEXT = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")


def parse_day(raw: Any, field: str) -> tuple[date | None, Finding | None]:
    """An Excel date (or date-time), an Excel serial number, or text in
    day/month/year order (also with "-" or "."), or ISO."""
    if raw is None or cell_text(raw) == "":
        return None, Finding("required", field)
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if 20000 < raw < 80000:  # 1954..2118 as Excel serial days
            return EXCEL_EPOCH + timedelta(days=int(raw)), None
        return None, Finding("bad_date", field, {"value": cell_text(raw)})
    text = cell_text(raw)
    for pattern, order in ((_DATE_TEXT, (3, 2, 1)), (_ISO_TEXT, (1, 2, 3))):
        found = pattern.match(text)
        if found:
            try:
                return date(*(int(found.group(i)) for i in order)), None
            except ValueError:
                break
    if text.isdigit() and 20000 < int(text) < 80000:
        return EXCEL_EPOCH + timedelta(days=int(text)), None
    return None, Finding("bad_date", field, {"value": text})


def parse_birth(raw: Any, *, today: date) -> tuple[date | None, int | None, Finding | None]:
    """A birth date, or only a year (lists often have just the year)."""
    text = cell_text(raw)
    if not text:
        return None, None, Finding("required", "birth_date")
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        if year > today.year:
            return None, None, Finding("birth_future", "birth_date")
        if year < 1900:
            return None, None, Finding("birth_too_old", "birth_date")
        return None, year, None
    day, finding = parse_day(raw, "birth_date")
    if finding is not None:
        return None, None, Finding("bad_birth", "birth_date", {"value": text})
    assert day is not None
    if day > today:
        return None, None, Finding("birth_future", "birth_date")
    if day.year < 1900:
        return None, None, Finding("birth_too_old", "birth_date")
    return day, day.year, None


_SEXES = {"nam": Sex.MALE, "male": Sex.MALE, "m": Sex.MALE, "trai": Sex.MALE,
          "nu": Sex.FEMALE, "female": Sex.FEMALE, "f": Sex.FEMALE, "gai": Sex.FEMALE,
          "khac": Sex.OTHER, "other": Sex.OTHER}


def parse_sex(raw: Any) -> tuple[str, Finding | None]:
    text = cell_text(raw)
    if not text:
        return "", None
    found = _SEXES.get(fold(text))
    if found is None:
        return "", Finding("bad_sex", "sex", {"value": text})
    return str(found), None


def parse_phone(raw: Any) -> tuple[str, Finding | None]:
    text = cell_text(raw)
    if not text:
        return "", None
    if re.fullmatch(r"\d{9}", text):  # Excel dropped the leading 0
        text = "0" + text
    try:
        return normalize_phone(text), None
    except PhoneError as error:
        return "", Finding("bad_phone", "phone", {"value": text, "reason": str(error.message)})


class PhoneReader:
    """``parse_phone`` for a whole list: whether a number is a valid
    Vietnamese mobile depends on its first three digits and its length, so
    the full check (phonenumbers, slow) runs once per prefix and length, and
    the other numbers are written in E.164 directly."""

    def __init__(self) -> None:
        self._prefixes: dict[tuple[str, int], bool] = {}

    def read(self, raw: Any) -> tuple[str, Finding | None]:
        text = cell_text(raw)
        digits = re.sub(r"[\s\-.()/]", "", text)
        if re.fullmatch(r"\d{9}", digits):
            digits = "0" + digits
        local = ("0" + digits[3:] if digits.startswith("+84") else
                 "0" + digits[2:] if digits.startswith("84") and len(digits) == 11 else digits)
        if not re.fullmatch(r"0\d{9}", local):
            return parse_phone(raw)
        key = (local[:3], len(local))
        if key not in self._prefixes:
            number, finding = parse_phone(local)
            self._prefixes[key] = finding is None and number == "+84" + local[1:]
            if not self._prefixes[key]:
                return parse_phone(raw)
            return number, finding
        if self._prefixes[key]:
            return "+84" + local[1:], None
        return parse_phone(raw)


def parse_id(raw: Any, *, birth_year: int | None, sex: str) -> tuple[str, str, Finding | None]:
    """(number, kind) of a CMND, CCCD or passport number; a CCCD is checked
    against the birth year and sex it encodes."""
    text = "".join(cell_text(raw).split()).upper()
    if not text:
        return "", "", None
    if re.fullmatch(r"\d{11}", text):  # Excel dropped the leading 0 of a CCCD
        text = "0" + text
    kind = guess_id_kind(text)
    try:
        return validate_identity_number(kind, text, birth_year=birth_year, sex=sex), kind, None
    except IdentityError as error:
        return "", "", Finding("bad_id", "id_number", {"value": text,
                                                      "reason": str(error.message)})


def parse_name(raw: Any) -> tuple[str, Finding | None]:
    name = " ".join(cell_text(raw).split())
    if not name:
        return "", Finding("required", "full_name")
    if len(name) > 120:
        return "", Finding("name_too_long", "full_name")
    return name, None


def parse_dose(raw: Any) -> tuple[int | None, str | None, Finding | None]:
    """(number, kind): "2" and "Mũi 2" give (2, None); "Nhắc lại" and "Mũi
    3 (nhắc lại)" give a booster; "Bổ sung" an additional dose; blank means
    the next dose."""
    text = cell_text(raw)
    if not text:
        return None, None, None
    folded = fold(text)
    kind: str | None = None
    if "nhac" in folded or "booster" in folded:
        kind = DoseKind.BOOSTER
    elif "bo sung" in folded or "additional" in folded:
        kind = DoseKind.ADDITIONAL
    elif "co ban" in folded or "primary" in folded:
        kind = DoseKind.PRIMARY
    digits = re.findall(r"\d+", folded)
    number = int(digits[0]) if digits else None
    if number is not None and not 1 <= number <= 20:
        return None, None, Finding("bad_dose", "dose_number", {"value": text})
    if number is None and kind is None:
        return None, None, Finding("bad_dose", "dose_number", {"value": text})
    return number, kind, None


def person_key(*, id_number: str, phone: str, name: str, birth_date: date | None,
               birth_year: int | None) -> str:
    """Who a row is about, for matching: the document number when there is
    one, else the phone with the folded name and birth date."""
    if id_number:
        return f"id:{id_number}"
    if phone:
        return phone_key(phone=phone, name=name, birth_date=birth_date, birth_year=birth_year)
    return ""


def phone_key(*, phone: str, name: str, birth_date: date | None, birth_year: int | None) -> str:
    born = birth_date.isoformat() if birth_date else str(birth_year or "")
    return f"ph:{phone}|{fold(name)}|{born}"[:200]


# --- Addresses ---------------------------------------------------------------------------------

_KIND_WORDS = ("thanh pho", "tinh", "quan", "huyen", "thi xa", "thi tran", "phuong", "xa",
               "tp.", "tp", "tt.", "tt", "q.", "h.", "p.", "x.")


def bare_name(name: str) -> str:
    """A unit's folded name without its kind: "Huyện Hạ Lang" -> "ha lang"."""
    folded = fold(name).strip()
    for word in _KIND_WORDS:
        if folded.startswith(word + " "):
            return folded[len(word) + 1:].strip()
    return folded


@dataclass
class Places:
    """Finds communes by the names a list gives, loading each tier of the
    map once per import as it is needed."""

    scheme: str = Scheme.Y2021

    def __post_init__(self) -> None:
        self._children: dict[int | None, dict[str, list[AdministrativeUnit]]] = {}
        self._found: dict[tuple[str, str, str],
                          tuple[AdministrativeUnit | None, Finding | None]] = {}

    def _under(self, parent: AdministrativeUnit | None) -> dict[str, list[AdministrativeUnit]]:
        key = parent.pk if parent is not None else None
        if key not in self._children:
            units = AdministrativeUnit.objects.filter(scheme=self.scheme, parent=parent)
            if parent is None:
                units = units.filter(level=Level.PROVINCE)
            table: dict[str, list[AdministrativeUnit]] = {}
            for unit in units:
                for name in {bare_name(unit.name), unit.name_folded}:
                    table.setdefault(name, []).append(unit)
            self._children[key] = table
        return self._children[key]

    def _one(self, text: str, parent: AdministrativeUnit | None) -> AdministrativeUnit | None:
        found = self._under(parent).get(bare_name(text)) or self._under(parent).get(fold(text))
        return found[0] if found and len(found) == 1 else None

    def commune(self, province: str, district: str, commune: str
                ) -> tuple[AdministrativeUnit | None, Finding | None]:
        key = (province, district, commune)
        if key not in self._found:
            self._found[key] = self._commune(province, district, commune)
        return self._found[key]

    def _commune(self, province: str, district: str, commune: str
                 ) -> tuple[AdministrativeUnit | None, Finding | None]:
        if not (province or district or commune):
            return None, None
        if not (province and district and commune):
            return None, Finding("address_incomplete", "commune")
        top = self._one(province, None)
        if top is None:
            return None, Finding("unknown_province", "province", {"value": province})
        middle = self._one(district, top)
        if middle is None:
            return None, Finding("unknown_district", "district",
                                 {"value": district, "parent": top.name})
        unit = self._one(commune, middle)
        if unit is None:
            return None, Finding("unknown_commune", "commune",
                                 {"value": commune, "parent": middle.name})
        return unit, None

    def from_address(self, text: str) -> AdministrativeUnit | None:
        """The commune named by the last three parts of a one-cell address
        ("Xóm Nà Lẹng, Xã An Lạc, Huyện Hạ Lang, Cao Bằng"), if they name one."""
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if len(parts) < 3:
            return None
        unit, finding = self.commune(parts[-1], parts[-2], parts[-3])
        return unit if finding is None else None

