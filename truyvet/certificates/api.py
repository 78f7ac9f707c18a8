"""JSON endpoints of certificate verification. Public: anyone may check a
certificate, as with the official verifier apps; rate-limited per address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router
from ninja.files import UploadedFile

from truyvet.certificates import services
from truyvet.certificates.schemas import DecodeOut, VerifyIn, VerifyOut
from truyvet.certificates.verify import credential_kind
from truyvet.core.errors import ServiceError
from truyvet.core.qrimage import QrImageError, qr_texts_in_image

router = Router(tags=["certificates"])


def verified_out(verified: list[services.Verified]) -> dict[str, Any]:
    results = [v.result.as_json(input_label=v.label) for v in verified]
    return {"ok": True, "valid": all(r["valid"] for r in results), "results": results}


@router.post(
    "/verify", url_name="certificates_verify", response=VerifyOut, auth=None,
    summary="Verify EU DCCs and SMART Health Cards",
)
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    """Verifies offline against the trust lists the system admins imported.
    Nothing about the credential is stored; only the count of verifications."""
    return verified_out(services.certificates_verify(text=payload.text, at=payload.at,
                                                     request=request))


@router.post(
    "/decode", url_name="certificates_decode", response=DecodeOut, auth=None,
    summary="Read the QR codes in a camera frame",
)
def decode(request: HttpRequest, image: File[UploadedFile]) -> dict[str, Any]:
    """For browsers without BarcodeDetector: one frame (PNG, JPEG or WebP, at
    most CERT_IMAGE_MAX_BYTES). Only reads the codes; post them to /verify."""
    services.verification_throttle(request=request)
    data = image.read(settings.CERT_IMAGE_MAX_BYTES + 1)
    try:
        texts = qr_texts_in_image(data, max_bytes=settings.CERT_IMAGE_MAX_BYTES)
    except QrImageError:
        raise ServiceError(_("Không đọc được ảnh."), code="frame_invalid") from None
    return {
        "ok": True, "found": bool(texts),
        "results": [{"text": t, "kind": credential_kind(t)} for t in texts],
    }
