"""The residents of communes at epidemic level 4 (issue 14 item 5, first
bullet): the commune's and its district's officers see who lives there (by
the residence commune of their record), masked, only in their area, with
every read and export in the audit log.

A commune below level 4 today has no list: the list exists because of the
level, and closes when the level drops.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import Person, Viewer
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record, audit_record_found
from truyvet.core.sheets import sheet_append
from truyvet.core.time import local_day
from truyvet.declarations import levels_permissions as permissions
from truyvet.places.levels import LevelBadge, commune_level_at, communes_at_level, entry_badge
from truyvet.places.models import AdministrativeUnit, CommuneLevel, Level

RED = 4
PAGE_SIZE = 50
EXPORT_MAX = 50_000


@dataclass
class ResidentRow:
    person_id: int
    name: str
    birth_year: int | None
    sex: str
    masked_id: str
    masked_phone: str
    street: str

    @classmethod
    def of(cls, person: Person) -> ResidentRow:
        return cls(person_id=person.pk, name=mask_name(person.full_name),
                   birth_year=person.birth_year, sex=person.get_sex_display(),
                   masked_id=person.masked_id, masked_phone=person.masked_phone,
                   street=_mask_street(person.street))


def _mask_street(street: str) -> str:
    """The house number hidden, the street or hamlet kept: enough to know
    which part of the commune, not which door."""
    words = street.split()
    return " ".join(w for w in words if not any(ch.isdigit() for ch in w))


def red_communes_for(*, viewer: Viewer) -> list[tuple[AdministrativeUnit, LevelBadge]]:
    """The communes at level 4 today in the viewer's area, with their badge."""
    if not permissions.can_list_residents(viewer):
        raise NotAllowed(_("Chỉ cán bộ xã, huyện được xem danh sách này."))
    found = []
    for commune in communes_at_level(RED):
        if permissions.can_view_residents(viewer, commune):
            entry = commune_level_at(commune)
            badge = entry_badge(entry)
            if badge is not None:
                found.append((commune, badge))
    return found


def _commune_at_red(viewer: Viewer, code: str) -> tuple[AdministrativeUnit, CommuneLevel]:
    commune = (AdministrativeUnit.objects.select_related("parent", "parent__parent")
               .filter(code=code.strip(), level=Level.COMMUNE).first())
    if commune is None:
        raise NotFound(_("Không tìm thấy xã này."), code="unknown_commune")
    if not permissions.can_view_residents(viewer, commune):
        raise NotAllowed(_("Bạn chỉ xem được cư dân của xã trong địa bàn mình phụ trách."))
    entry = commune_level_at(commune)
    if entry is None or entry.level != RED:
        raise NotFound(_("Xã này hôm nay không ở cấp độ 4: không có danh sách cư dân cần theo "
                         "dõi."), code="not_level_four")
    return commune, entry


def _residents(commune: AdministrativeUnit) -> QuerySet[Person]:
    return Person.objects.filter(commune=commune).order_by("name_folded", "pk")


@dataclass
class ResidentsPage:
    commune: AdministrativeUnit
    badge: LevelBadge
    rows: list[ResidentRow]
    total: int
    page: Any


def residents_of(*, viewer: Viewer, code: str, page: int = 1,
                 request: HttpRequest | None = None) -> ResidentsPage:
    """One page of the residents of the level-4 commune ``code``; the read
    is audited once for the list and once per person shown."""
    commune, entry = _commune_at_red(viewer, code)
    people = _residents(commune)
    window = Paginator(people, PAGE_SIZE).get_page(page)
    shown = list(window.object_list)
    purpose = _("Theo dõi cư dân xã ở cấp độ dịch 4")
    audit_record(actor=viewer, action=AuditAction.PERSON_SEARCH, purpose=purpose,
                 request=request, target=f"residents:{commune.code}", unit=commune,
                 detail={"page": window.number, "shown": len(shown)})
    audit_record_found(actor=viewer, people=shown, purpose=purpose, request=request,
                       target=f"residents:{commune.code}", unit=commune)
    return ResidentsPage(commune=commune, badge=entry_badge(entry),  # type: ignore[arg-type]
                         rows=[ResidentRow.of(p) for p in shown],
                         total=window.paginator.count, page=window)


def residents_xlsx(*, viewer: Viewer, code: str, request: HttpRequest | None = None
                   ) -> tuple[str, bytes]:
    """The whole list as a spreadsheet, masked as on the page; the export and
    each person in it are audited. Returns (file name, content)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    commune, entry = _commune_at_red(viewer, code)
    people = list(_residents(commune)[:EXPORT_MAX])
    purpose = _("Xuất danh sách cư dân xã ở cấp độ dịch 4")
    audit_record(actor=viewer, action=AuditAction.EXPORT, purpose=purpose, request=request,
                 target=f"residents:{commune.code}", unit=commune,
                 detail={"rows": len(people), "format": "xlsx"})
    audit_record_found(actor=viewer, people=people, purpose=purpose, request=request,
                       target=f"residents:{commune.code}", unit=commune)
    badge = entry_badge(entry)
    assert badge is not None
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Cư dân")[:31]
    sheet_append(sheet, [_("Cư dân %(commune)s") % {"commune": commune.full_name}])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet_append(sheet, [_("%(level)s từ %(day)s; xuất ngày %(today)s") % {
        "level": badge.text, "day": entry.effective_from.strftime("%d/%m/%Y"),
        "today": local_day(timezone.now()).strftime("%d/%m/%Y")}])
    sheet_append(sheet, [])
    sheet_append(sheet, [_("STT"), _("Họ tên"), _("Năm sinh"), _("Giới tính"),
                         _("Số giấy tờ"), _("Điện thoại"), _("Thôn/đường")])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for number, person in enumerate(people, 1):
        row = ResidentRow.of(person)
        sheet_append(sheet, [number, row.name, row.birth_year, row.sex, row.masked_id,
                             row.masked_phone, row.street])
    for letter, width in zip("ABCDEFG", (6, 28, 10, 10, 18, 16, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A5"
    buffer = io.BytesIO()
    book.save(buffer)
    return f"cu-dan-cap-4-{commune.code}.xlsx", buffer.getvalue()
