"""Correction requests (phản ánh): filed with evidence checked by content,
confirmed by an OTP to the phone on file, reviewed by the site or the
district, the person told in the inbox and by SMS."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest
from django.conf import settings as configured
from django.test import Client, override_settings
from PIL import Image

from truyvet.core import sms
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditAction, AuditEvent, OutboxMessage
from truyvet.testing import last_otp_sent_to
from truyvet.vaccination.evidence import evidence_path
from truyvet.vaccination.models import (
    ChangeAction,
    CorrectionKind,
    CorrectionStatus,
    Dose,
    DoseChange,
)
from truyvet.vaccination.selectors import certificate_doses, correction_queue
from truyvet.vaccination.services import (
    CorrectionInput,
    correction_confirm,
    correction_file,
    correction_reply,
    correction_review,
    dose_record,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _codes_may_follow_each_other(settings: Any) -> None:
    """The personas were registered a moment ago with a code to the same
    phones; here each request sends its own at once."""
    settings.OTP_RESEND_SECONDS = 0
    settings.OTP_MAX_PER_HOUR = 50


def photo(*, gps: bool = True, tail: bytes = b"") -> bytes:
    """A JPEG as a phone takes it: with EXIF, a GPS position and a camera."""
    picture = Image.new("RGB", (640, 480), (200, 180, 150))
    exif = Image.Exif()
    exif[0x010F] = "Samsung"  # Make
    exif[0x0110] = "SM-A125F"  # Model
    if gps:
        exif[0x8825] = {1: "N", 2: (22.0, 42.0, 18.0), 3: "E", 4: (106.0, 40.0, 48.0)}
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue() + tail


@pytest.fixture
def dose(personas: Any, sites: Any) -> Dose:
    return dose_record(actor=personas.venue_owner, site=sites.centre,
                       person=personas.citizen.person, vaccine="Pfizer",
                       given_on=date(2021, 10, 1))


def file_request(personas: Any, dose: Dose, files: list[tuple[str, bytes]] | None = None,
                 **changes: Any) -> Any:
    data = CorrectionInput(kind=changes.pop("kind", CorrectionKind.WRONG_DATE), dose=dose,
                           given_on=changes.pop("given_on", date(2021, 10, 2)), **changes)
    return correction_file(actor=personas.citizen, person=personas.citizen.person, data=data,
                           files=[(name, io.BytesIO(content)) for name, content in files or []])


def confirmed(personas: Any, request: Any) -> Any:
    code = last_otp_sent_to(personas.citizen.person.phone)
    return correction_confirm(actor=personas.citizen, correction=request, code=code)


def test_a_request_waits_for_the_otp_sent_to_the_phone_on_file(personas: Any, dose: Dose) -> None:
    request = file_request(personas, dose)
    assert request.status == CorrectionStatus.UNCONFIRMED
    assert not correction_queue(viewer=personas.venue_owner).exists()
    with pytest.raises(ServiceError):
        correction_confirm(actor=personas.citizen, correction=request, code="000000")
    opened = confirmed(personas, request)
    assert opened.status == CorrectionStatus.OPEN
    assert list(correction_queue(viewer=personas.venue_owner)) == [opened]


def test_approval_changes_the_dose_keeps_history_and_tells_the_person(
        personas: Any, dose: Dose) -> None:
    request = confirmed(personas, file_request(personas, dose))
    sms.outbox.clear()
    correction_review(actor=personas.venue_owner, correction=request, decision="approve",
                      reason="Đối chiếu sổ tiêm: đúng ngày 02/10")
    dose.refresh_from_db()
    assert dose.given_on == date(2021, 10, 2)
    change = DoseChange.objects.get(dose=dose)
    assert change.action == ChangeAction.CORRECTED and change.correction == request
    assert change.before["given_on"] == "2021-10-01" and change.changed_by == personas.venue_owner
    inbox = OutboxMessage.objects.get(recipient_user=personas.citizen, channel="inapp")
    assert "đã được điều chỉnh" in inbox.subject
    assert OutboxMessage.objects.filter(phone=personas.citizen.person.phone, channel="sms",
                                        kind="vaccination.approved").exists()


def test_rejection_needs_a_reason_and_changes_nothing(personas: Any, dose: Dose) -> None:
    request = confirmed(personas, file_request(personas, dose))
    with pytest.raises(ServiceError):
        correction_review(actor=personas.venue_owner, correction=request, decision="reject")
    done = correction_review(actor=personas.venue_owner, correction=request, decision="reject",
                             reason="Sổ tiêm ghi đúng ngày 01/10")
    dose.refresh_from_db()
    assert done.status == CorrectionStatus.REJECTED and dose.given_on == date(2021, 10, 1)
    assert OutboxMessage.objects.filter(recipient_user=personas.citizen,
                                        kind="vaccination.rejected").exists()


def test_asking_for_more_returns_it_to_the_citizen_who_answers(
        personas: Any, dose: Dose) -> None:
    request = confirmed(personas, file_request(personas, dose))
    asked = correction_review(actor=personas.venue_owner, correction=request, decision="ask",
                              reason="Hãy gửi ảnh giấy xác nhận tiêm")
    assert asked.status == CorrectionStatus.MORE_INFO
    answered = correction_reply(actor=personas.citizen, correction=asked, note="Ảnh đây",
                                files=[("giay.jpg", io.BytesIO(photo()))])
    assert answered.status == CorrectionStatus.OPEN and answered.evidence.count() == 1


def test_only_the_reviewers_decide(personas: Any, dose: Dose) -> None:
    request = confirmed(personas, file_request(personas, dose))
    for outsider in (personas.citizen, personas.controller, personas.neighbour_officer,
                     personas.commune_officer):
        with pytest.raises(NotAllowed):
            correction_review(actor=outsider, correction=request, decision="approve")


def test_a_missing_dose_goes_to_the_districts_health_workers(personas: Any, dose: Dose) -> None:
    request = correction_file(
        actor=personas.citizen, person=personas.citizen.person,
        data=CorrectionInput(kind=CorrectionKind.MISSING, given_on=date(2021, 11, 1),
                             vaccine="Pfizer", site_name="Bệnh viện Bạch Mai"))
    request = confirmed(personas, request)
    assert request.review_site is None and request.review_unit == personas.units.ha_lang
    assert list(correction_queue(viewer=personas.health_worker)) == [request]
    assert not correction_queue(viewer=personas.venue_owner).exists()
    correction_review(actor=personas.health_worker, correction=request, decision="approve")
    added = Dose.objects.get(person=personas.citizen.person, dose_number=2)
    assert added.site is None and added.site_name == "Bệnh viện Bạch Mai"


def test_a_commune_officer_files_for_a_resident_and_the_otp_goes_to_their_phone(
        personas: Any, dose: Dose) -> None:
    request = correction_file(
        actor=personas.commune_officer, person=personas.citizen.person,
        data=CorrectionInput(kind=CorrectionKind.WRONG_LOT, dose=dose, lot_number="FF2222"))
    assert request.on_behalf and last_otp_sent_to(personas.citizen.person.phone)
    with pytest.raises(NotAllowed):
        correction_file(actor=personas.neighbour_officer, person=personas.citizen.person,
                        data=CorrectionInput(kind=CorrectionKind.WRONG_LOT, dose=dose,
                                             lot_number="FF2222"))


def test_a_dose_under_correction_is_flagged_for_certificates(personas: Any, dose: Dose) -> None:
    [before] = certificate_doses(person=personas.citizen.person)
    assert not before.under_correction
    assert (before.product, before.manufacturer, before.vaccine_type) == (
        "EU/1/20/1528", "ORG-100030215", "1119349007")
    assert (before.dose_number, before.series_doses, before.country) == (1, 2, "VN")
    confirmed(personas, file_request(personas, dose))
    [after] = certificate_doses(person=personas.citizen.person)
    assert after.under_correction


# --- Evidence ---------------------------------------------------------------------------------


def test_a_photo_is_stored_without_its_exif_or_gps(personas: Any, dose: Dose) -> None:
    original = photo()
    sent = Image.open(io.BytesIO(original)).getexif()
    assert b"Samsung" in original and sent.get_ifd(0x8825)  # the GPS block is there
    request = file_request(personas, dose, [("giay-chung-nhan.jpg", original)])
    item = request.evidence.get()
    stored = evidence_path(item.stored_name).read_bytes()
    picture = Image.open(io.BytesIO(stored))
    assert picture.format == "JPEG" and not picture.getexif()
    assert b"Samsung" not in stored and b"SM-A125F" not in stored
    assert item.content_type == "image/jpeg" and item.original_name == "giay-chung-nhan.jpg"
    # Outside the web root: not under the static or media folders.
    path = evidence_path(item.stored_name).resolve()
    media: Any = configured.STORAGES["default"]
    media = media["OPTIONS"]
    assert not path.is_relative_to(configured.STATIC_ROOT)
    assert not path.is_relative_to(media["location"])


@pytest.mark.parametrize(("name", "content", "code"), [
    ("anh.jpg", b"GIF89a not a photo", "unsupported_file"),
    ("anh.jpg", photo(tail=b"PK\x03\x04" + b"\x00" * 100), "polyglot"),
    ("anh.png", b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>", "polyglot"),
    ("anh.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "heic"),
    ("giay.pdf", b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (x) >> >>\n%%EOF",
     "unsafe_pdf"),
    ("giay.pdf", b"%PDF-1.4\n1 0 obj << >>\n%%EOF\nPK\x03\x04junk", "unsafe_pdf"),
])
def test_bad_evidence_is_refused_with_its_reason_and_nothing_is_saved(
        personas: Any, dose: Dose, name: str, content: bytes, code: str) -> None:
    with pytest.raises(ServiceError) as error:
        file_request(personas, dose, [(name, content)])
    assert error.value.code == code and name in str(error.value.errors[0].message)
    assert not dose.corrections.exists()


def test_a_photo_too_large_or_too_many_files_are_refused(personas: Any, dose: Dose) -> None:
    with override_settings(VACCINATION_EVIDENCE_MAX_BYTES=64 * 1024), \
            pytest.raises(ServiceError) as large:
        file_request(personas, dose, [("anh.jpg", photo() + b"\x00" * 70_000)])
    assert large.value.code == "file_too_large"
    with pytest.raises(ServiceError) as many:
        file_request(personas, dose, [(f"anh{n}.jpg", photo()) for n in range(4)])
    assert "too_many_files" in {e.code for e in many.value.errors}


def test_a_pixel_bomb_is_refused(personas: Any, dose: Dose) -> None:
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, format="PNG")
    with pytest.raises(ServiceError) as error:
        file_request(personas, dose, [("bom.png", buffer.getvalue())])
    assert error.value.code == "too_many_pixels"


def test_evidence_is_served_only_to_the_person_and_reviewers_each_view_audited(
        personas: Any, dose: Dose) -> None:
    request = confirmed(personas, file_request(personas, dose, [("anh.jpg", photo())]))
    item = request.evidence.get()
    url = f"/vaccination/corrections/{request.pk}/evidence/{item.pk}/"
    for user in (personas.citizen, personas.venue_owner, personas.district_officer):
        client = Client()
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert "sandbox" in response["Content-Security-Policy"]
    assert AuditEvent.objects.filter(action=AuditAction.PERSON_READ,
                                     target=f"vaccination:evidence:{item.pk}").count() == 3
    for outsider in (personas.other_citizen, personas.neighbour_officer, personas.controller):
        client = Client()
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_a_zip_renamed_jpg_is_refused(personas: Any, dose: Dose) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("a.txt", "x")
    with pytest.raises(ServiceError) as error:
        file_request(personas, dose, [("anh.jpg", archive.getvalue())])
    assert error.value.code == "unsupported_file"
