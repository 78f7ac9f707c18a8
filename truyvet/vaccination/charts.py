"""The coverage trend as a picture (SVG for the page, PNG for the
workbook's sheet is not needed): people reached per measure, cumulative,
day by day. Drawn with matplotlib's object API (never pyplot, whose global
state is not safe across the server's threads); built from a ``Coverage``,
so it costs no query of its own."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from truyvet.vaccination.models import Measure

if TYPE_CHECKING:
    from truyvet.vaccination.selectors import Coverage

COLOURS = {Measure.FIRST_DOSE: "#9ad3bc", Measure.FULL_COURSE: "#0b6e4f",
           Measure.BOOSTER: "#1f5fa8"}


def trend_chart(coverage: Coverage, fmt: str = "svg") -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8.0, 3.2), dpi=100)
    axes = figure.subplots()
    days = coverage.trend
    positions = list(range(len(days)))
    for measure, label in Measure.choices:
        axes.plot(positions, [day.total[int(measure)] for day in days],
                  color=COLOURS[Measure(measure)], linewidth=2, label=str(label))
    step = max(1, len(days) // 12)
    axes.set_xticks(positions[::step], [f"{d.day:%d/%m}" for d in days][::step],
                    rotation=45 if len(days) > 10 else 0, fontsize=8)
    axes.set_title(_("Số người đã tiêm theo ngày — %(scope)s")
                   % {"scope": coverage.scope.name}, fontsize=10)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color="#c9ced3", linewidth=0.5)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.2)
    buffer = io.BytesIO()
    if fmt == "svg":
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    else:
        figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()
