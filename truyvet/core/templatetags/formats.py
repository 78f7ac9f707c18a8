"""Template filters for ``core.formats``: ``{% load formats %}`` then
``{{ count|vn_number }}``, ``{{ share|vn_number:1 }}``, ``{{ share|vn_percent }}``,
``{{ owner.phone|phone }}`` and ``{% coordinates venue.latitude venue.longitude %}``
(the point as text, linked to a map)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from truyvet.core import formats

register = template.Library()


@register.filter
def vn_number(value: Any, decimals: int = 0) -> str:
    return formats.number(value, int(decimals))


@register.filter
def vn_percent(value: Any, decimals: int = 1) -> str:
    return formats.percent(value, int(decimals))


@register.filter
def phone(value: Any) -> str:
    return formats.phone(value, keep_together=True)


@register.simple_tag
def coordinates(latitude: Any, longitude: Any) -> SafeString | str:
    text = formats.coordinates(latitude, longitude)
    if not text:
        return ""
    return format_html(
        '<a class="map-link" href="{}" rel="noopener noreferrer" target="_blank" title="{}">{}</a>',
        formats.map_url(latitude, longitude), _("Mở bản đồ"), text,
    )
