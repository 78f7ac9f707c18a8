"""Reads that gather every app: the sections of the home page."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from truyvet.accounts import permissions as account_permissions
from truyvet.accounts.models import Viewer
from truyvet.certificates.issuing.selectors import home_links_for as certificate_links_for
from truyvet.checkins.selectors import home_links_for as checkin_links_for
from truyvet.declarations.levels_selectors import home_links_for as level_links_for
from truyvet.declarations.selectors import home_links_for as declaration_links_for
from truyvet.reports.selectors import home_links_for as report_links_for
from truyvet.tracing.selectors import home_links_for as tracing_links_for
from truyvet.vaccination.selectors import home_links_for as vaccination_links_for
from truyvet.venues.selectors import home_links_for as venue_links_for


def home_sections_for(user: Viewer) -> list[dict[str, Any]]:
    """The blocks a user's home page shows, one per kind of work they do.

    Each later domain adds its links here; the page itself has no role logic.
    """
    if not getattr(user, "is_authenticated", False):
        return []
    checkin_links = checkin_links_for(user)
    venue_links = venue_links_for(user)
    tracing_links = tracing_links_for(user)
    vaccination_links = vaccination_links_for(user)
    declaration_links = declaration_links_for(user)
    level_links = level_links_for(user)
    certificate_links = certificate_links_for(user)
    sections: list[dict[str, Any]] = [
        {
            "title": _("Của tôi"),
            "links": [(reverse("accounts:profile"), _("Thông tin cá nhân")),
                      *checkin_links["mine"], *venue_links["mine"], *tracing_links["mine"],
                      *vaccination_links["mine"], *certificate_links["mine"],

                      *vaccination_links["mine"], *declaration_links["mine"],
                      *level_links["mine"],
                      (reverse("accounts:devices"), _("Thiết bị đang đăng nhập"))],
        }
    ]
    if checkin_links["control"]:
        sections.append({"title": _("Kiểm soát ra vào"),
                         "links": [*checkin_links["control"], *declaration_links["control"]]})
    if vaccination_links["official"] and not account_permissions.is_official(user):
        # Site staff without an official role: their vaccination sites.
        sections.append({"title": _("Tiêm chủng"), "links": vaccination_links["official"]})
    if certificate_links["official"] and not account_permissions.is_official(user):
        sections.append({"title": _("Cấp chứng nhận COVID"),
                         "links": certificate_links["official"]})
    if account_permissions.is_official(user):
        links = [(reverse("accounts:people"), _("Tra cứu người dân"))]
        if account_permissions.is_officer(user):
            links.append((reverse("accounts:roles"), _("Phân quyền cán bộ")))
            links.append((reverse("accounts:audit"), _("Nhật ký truy cập")))
            links.append((reverse("accounts:claims"), _("Yêu cầu nhận hồ sơ")))
        links.extend(venue_links["official"])
        links.extend(tracing_links["official"])
        links.extend(report_links_for(user))
        links.extend(vaccination_links["official"])
        links.extend(certificate_links["official"])

        links.extend(declaration_links["official"])
        links.extend(level_links["official"])
        if account_permissions.is_officer(user):
            links.append((reverse("places:population"), _("Số dân theo xã")))
        links.append((reverse("places:search"), _("Đơn vị hành chính")))
        sections.append({"title": _("Công việc cán bộ"), "links": links})
    return sections
