"""Printable personal QR cards (PDF), for people without a smartphone."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person, User
from truyvet.checkins import permissions
from truyvet.checkins.cards import personal_card_pdf
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.core.errors import FieldError, NotFound, ServiceError
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record


def personal_qr_card_pdf(
    *, actor: User, person: Person, purpose: str = "", request: HttpRequest | None = None
) -> bytes:
    """The printable 5 × 5 cm card of ``person``. People print their own;
    officials print for people living in their scope (no smartphone), with
    a purpose, and each such print is audited."""
    if not permissions.can_print_personal_qr_card(actor, person):
        raise NotFound(_("Không tìm thấy người này."))
    own = getattr(actor, "person_id", None) == person.pk
    cleaned = " ".join((purpose or "").split())[:300]
    if not own and len(cleaned) < 3:
        raise ServiceError(
            _("Hãy ghi rõ mục đích in thẻ."), code="validation_error",
            errors=[FieldError("purpose", _("Hãy ghi rõ mục đích in thẻ."), "required")],
        )
    with transaction.atomic():
        token = personal_qr_token(person)
        if not own:
            audit_record(
                actor=actor, action=AuditAction.EXPORT, purpose=cleaned, request=request,
                subject_person=person, target=f"person:{person.pk}", unit=person.commune,
                detail={"kind": "personal_qr_card"},
            )
    return personal_card_pdf(
        token=token, full_name=person.full_name, title=gettext("truyvet · Mã QR cá nhân"),
        note=gettext("Cắt theo đường viền: thẻ 5 × 5 cm. Đưa mã này cho người kiểm soát quét "
                     "khi ra vào địa điểm."),
    )

