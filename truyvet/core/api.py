from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["system"])


class HealthRead(Schema):
    ok: bool


@router.get("/health", response=HealthRead, summary="Liveness check (touches no database)")
def health(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}
