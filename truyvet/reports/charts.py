"""The dashboard's charts: rows of bars for the page, pictures for the PDF.

On the page (``day_bars``, ``share_bars``) each chart is a list of rows
that the template draws as HTML text beside a one-rectangle SVG bar: built
from the figures the page already holds, so it costs no request and next
to no server time, needs no script (the Content-Security-Policy stays
closed), and its labels are page text, as readable on a phone as the rest
(decision 0016). The pictures below remain for the PDF report and the
``chart`` endpoint.

Drawn with matplotlib's object API on the Agg/SVG canvases (never pyplot,
whose global state is not safe across the server's threads). Its bundled
DejaVu Sans covers every Vietnamese letter. Built from a ``Dashboard``, so a
chart costs no query of its own.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from truyvet.reports.selectors import Dashboard

CHARTS = ("checkins", "active")
GREEN = "#0b6e4f"
BLUE = "#1f5fa8"
GREY = "#c9ced3"


@dataclass(frozen=True)
class DayBar:
    day: date
    scans: int
    people: int
    scans_width: float  # percent of the busiest day's scans
    people_width: float  # the same scale: people are never more than scans


@dataclass(frozen=True)
class ShareBar:
    name: str
    share: float | None  # percent of registered venues with a scan in 7 days
    active: int
    registered: int


def day_bars(dashboard: Dashboard) -> list[DayBar]:
    """One row a day, newest first (what an officer looks at first), bars
    scaled to the busiest day."""
    top = max((d.scans for d in dashboard.days), default=0) or 1
    return [DayBar(d.day, d.scans, d.people, round(100 * d.scans / top, 2),
                   round(100 * min(d.people, d.scans) / top, 2))
            for d in reversed(dashboard.days)]


def share_bars(dashboard: Dashboard) -> list[ShareBar]:
    """One row a child unit, the lowest share first: those are the units an
    officer has to call."""
    rows = sorted(dashboard.units, key=lambda r: (r.figures.share_active_7d is not None,
                                                  r.figures.share_active_7d or 0.0,
                                                  r.unit.name))
    return [ShareBar(row.unit.name, row.figures.share_active_7d, row.figures.active_7d,
                     row.figures.registered) for row in rows]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    # Fixed margins: matplotlib's automatic layout would double the drawing time.
    return Figure(figsize=(width, height), dpi=100)


def _save(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "svg":
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    else:
        figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def checkins_chart(dashboard: Dashboard, fmt: str = "svg") -> bytes:
    """Check-ins (bars) and distinct people (line) per day over the period."""
    from matplotlib.ticker import MaxNLocator

    days = dashboard.days
    figure = _figure(8.0, 3.2)
    axes = figure.subplots()
    positions = list(range(len(days)))
    axes.bar(positions, [d.scans for d in days], color=GREEN, label=_("Lượt quét"))
    axes.plot(positions, [d.people for d in days], color=BLUE, marker="o", markersize=3,
              label=_("Số người"))
    step = max(1, len(days) // 14)
    axes.set_xticks(positions[::step], [f"{d.day:%d/%m}" for d in days][::step],
                    rotation=45 if len(days) > 10 else 0, fontsize=8)
    axes.set_title(_("Lượt quét mã và số người mỗi ngày — %(scope)s")
                   % {"scope": dashboard.scope.name}, fontsize=10)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color=GREY, linewidth=0.5)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.2)
    return _save(figure, fmt)


def active_share_chart(dashboard: Dashboard, fmt: str = "svg") -> bytes:
    """The share of each child unit's registered venues with a scan in the
    last 7 days, busiest share on top."""
    rows = sorted(dashboard.units, key=lambda r: (r.figures.share_active_7d or 0.0))
    height = min(max(1.6, 0.28 * len(rows) + 0.9), 14.0)
    figure = _figure(8.0, height)
    axes = figure.subplots()
    names = [row.unit.name for row in rows]
    shares = [row.figures.share_active_7d or 0.0 for row in rows]
    positions = list(range(len(rows)))
    axes.barh(positions, [100.0] * len(rows), color=GREY, height=0.7)
    axes.barh(positions, shares, color=GREEN, height=0.7)
    for position, row in zip(positions, rows, strict=True):
        axes.text(101, position, f"{row.figures.active_7d}/{row.figures.registered}",
                  va="center", fontsize=7)
    axes.set_yticks(positions, names, fontsize=7)
    axes.set_xlim(0, 118)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
    axes.set_title(_("Tỷ lệ địa điểm có lượt quét trong 7 ngày"), fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    longest = max((len(name) for name in names), default=10)
    figure.subplots_adjust(left=min(0.45, 0.03 + 0.0085 * longest), right=0.97,
                           top=1 - 0.45 / height, bottom=0.4 / height)
    return _save(figure, fmt)


def chart(name: str, dashboard: Dashboard, fmt: str = "svg") -> bytes:
    """``name`` is one of CHARTS."""
    if name == "checkins":
        return checkins_chart(dashboard, fmt)
    if name == "active":
        return active_share_chart(dashboard, fmt)
    raise ValueError(f"unknown chart {name!r}")
