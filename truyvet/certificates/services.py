"""Writes of the certificates app: importing and removing trust lists, and
counting verifications (the only thing a verification writes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import User
from truyvet.certificates import selectors
from truyvet.certificates.models import TrustList, TrustListKind, VerificationTally
from truyvet.certificates.permissions import can_manage_trust_lists
from truyvet.certificates.result import Verification
from truyvet.certificates.trust import TrustFileError, trust_load
from truyvet.certificates.verify import (
    Credential,
    chunks_grouped,
    credentials_in_bytes,
    credentials_in_text,
)
from truyvet.core import ratelimit
from truyvet.core.errors import ErrorCollector, NotAllowed, ServiceError, Throttled
from truyvet.core.requests import client_ip

# What each kind of list may hold (trust.trust_load tells what a file is).
FILE_KINDS = {
    TrustListKind.DSC: {"dsc_list", "dsc"},
    TrustListKind.SHC_ISSUER: {"jwks"},
    TrustListKind.SHC_CRL: {"shc_crl"},
    TrustListKind.DCC_REVOCATION: {"dcc_revocation"},
}
MAX_TRUST_LIST_BYTES = 16 * 1024 * 1024


def trust_list_import(
    *, actor: User, name: str, kind: str, data: bytes, issuer_url: str = ""
) -> TrustList:
    """Imports (or, under an existing name, refreshes) one trust list after
    parsing it completely; a file that does not parse changes nothing."""
    if not can_manage_trust_lists(actor):
        raise NotAllowed(_("Chỉ quản trị hệ thống được quản lý danh sách tin cậy."))
    errors = ErrorCollector()
    name = name.strip()
    issuer_url = issuer_url.strip()
    if not name or len(name) > 200:
        errors.add("name", _("Hãy đặt tên cho danh sách (tối đa 200 ký tự)."), "required")
    if kind not in FILE_KINDS:
        errors.add("kind", _("Loại danh sách không hợp lệ."), "invalid")
    if kind == TrustListKind.SHC_ISSUER and not issuer_url.startswith("https://"):
        errors.add("issuer_url", _("Khoá SMART Health Card cần địa chỉ đơn vị cấp (https://…)."),
                   "required")
    if len(issuer_url) > 500:
        errors.add("issuer_url", _("Địa chỉ quá dài."), "too_long")
    count = 0
    if not data:
        errors.add("file", _("Tệp trống."), "required")
    elif len(data) > MAX_TRUST_LIST_BYTES:
        errors.add("file", _("Tệp quá lớn."), "too_large")
    elif kind in FILE_KINDS:
        try:
            _store, found, count = trust_load(
                data, issuer=issuer_url if kind == TrustListKind.SHC_ISSUER else None
            )
            if found not in FILE_KINDS[TrustListKind(kind)]:
                errors.add("file", _("Tệp không đúng loại danh sách đã chọn."), "wrong_kind")
            elif count == 0:
                errors.add("file", _("Tệp không có mục nào dùng được."), "empty")
        except TrustFileError as exc:
            errors.add("file", _("Không đọc được tệp: %(reason)s") % {"reason": str(exc)},
                       "unreadable")
    errors.raise_if_any(_("Không nhập được danh sách tin cậy."))
    with transaction.atomic():
        trust_list, _created = TrustList.objects.update_or_create(
            name=name,
            defaults={
                "kind": kind, "issuer_url": issuer_url if kind == TrustListKind.SHC_ISSUER
                else "", "content": data, "entry_count": count,
                "refreshed_at": timezone.now(), "refreshed_by": actor,
            },
        )
    return trust_list


def trust_list_delete(*, actor: User, trust_list_id: int) -> None:
    if not can_manage_trust_lists(actor):
        raise NotAllowed(_("Chỉ quản trị hệ thống được quản lý danh sách tin cậy."))
    with transaction.atomic():
        TrustList.objects.filter(pk=trust_list_id).delete()


# --- Verifying ---------------------------------------------------------------------------


def verification_throttle(*, request: HttpRequest | None) -> None:
    limit = settings.CERT_VERIFY_RATELIMIT_IP_PER_MINUTE
    if request is None or limit <= 0:
        return
    allowed, reset_in = ratelimit.hit(
        f"certificates:verify:{client_ip(request) or 'unknown'}", limit=limit, window_seconds=60
    )
    if not allowed:
        raise Throttled(
            _("Bạn thao tác quá nhanh. Vui lòng thử lại sau %(seconds)s giây.")
            % {"seconds": reset_in},
            retry_after=reset_in,
        )


def verifications_count(*, results: list[Verification]) -> None:
    """Adds the results to today's tallies: kind and outcome only."""
    day = timezone.now().date()
    totals: dict[tuple[str, bool], int] = {}
    for result in results:
        key = (result.kind, result.valid)
        totals[key] = totals.get(key, 0) + 1
    for (kind, valid), count in totals.items():
        with transaction.atomic():
            updated = VerificationTally.objects.filter(day=day, kind=kind, valid=valid).update(
                count=F("count") + count
            )
            if not updated:
                try:
                    with transaction.atomic():
                        VerificationTally.objects.create(
                            day=day, kind=kind, valid=valid, count=count
                        )
                except IntegrityError:  # created by a concurrent request meanwhile
                    VerificationTally.objects.filter(day=day, kind=kind, valid=valid).update(
                        count=F("count") + count
                    )


@dataclass(frozen=True)
class Verified:
    label: str
    result: Verification


MAX_CREDENTIALS_PER_REQUEST = 20


def certificates_verify(
    *, text: str = "", image: bytes = b"", at: datetime | None = None,
    request: HttpRequest | None = None,
) -> list[Verified]:
    """Verifies what a person pasted (one credential a line; a chunked SHC's
    parts together) or the QR codes in an uploaded image, against the
    imported trust lists, and counts the outcomes."""
    verification_throttle(request=request)
    if image and len(image) > settings.CERT_IMAGE_MAX_BYTES:
        raise ServiceError(_("Ảnh quá lớn."), code="image_too_large")
    if not image and not text.strip():
        raise ServiceError(_("Hãy dán mã chứng nhận hoặc tải lên ảnh mã QR."), code="input_empty")
    credentials: list[Credential] = (
        credentials_in_bytes(image, "image") if image else credentials_in_text(text, "text")
    )
    grouped = list(chunks_grouped(credentials))[:MAX_CREDENTIALS_PER_REQUEST]
    trust = selectors.trust_store()
    moment = at or timezone.now()
    verified = [
        Verified(c.label, c.verify(trust=trust, at=moment)) for c in grouped
    ]
    verifications_count(results=[v.result for v in verified])
    return verified
