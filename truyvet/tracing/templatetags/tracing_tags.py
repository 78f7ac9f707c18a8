"""``{% load tracing_tags %}{% exposure_check %}``: the "Was I exposed?" block,
for any page that shows citizens their own history (the check-ins history
page includes it). It reads only the logged-in user's own visits."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from truyvet.tracing.selectors import my_exposures

register = template.Library()


@register.inclusion_tag("tracing/_exposure_check.html", takes_context=True)
def exposure_check(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "matches": my_exposures(user=user) if user is not None else [],
        "hotline": settings.TRACING_HOTLINE,
    }
