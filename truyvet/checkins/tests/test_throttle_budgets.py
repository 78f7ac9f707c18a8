"""A controller's camera (a frame every ~400 ms) fits the decode budget,
while citizens keep the tighter per-person limit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from truyvet.checkins.services import checkin_throttle
from truyvet.core.errors import Throttled

FRAMES_PER_MINUTE_AT_400_MS = 150


@pytest.fixture(autouse=True)
def _one_fixed_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call falls in the same rate-limit window, so the counts are exact."""
    import truyvet.core.ratelimit

    monkeypatch.setattr(truyvet.core.ratelimit.time, "time", lambda: 1_800_000_000.0)


def test_a_minute_of_camera_frames_is_not_throttled(personas: Any, settings: Any) -> None:
    settings.CHECKIN_RATELIMIT_IP_PER_MINUTE = 120
    settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 20
    settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE = 240
    request = RequestFactory().post("/api/v1/checkins/decode")
    for _ in range(FRAMES_PER_MINUTE_AT_400_MS):
        checkin_throttle(scope="decode", request=request, user=personas.controller)


def test_a_citizen_scanning_faster_than_the_limit_is_throttled(
    personas: Any, settings: Any
) -> None:
    settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 20
    request = RequestFactory().post("/api/v1/checkins/scan")
    for _ in range(20):
        checkin_throttle(scope="scan", request=request, user=personas.citizen)
    with pytest.raises(Throttled):
        checkin_throttle(scope="scan", request=request, user=personas.citizen)
