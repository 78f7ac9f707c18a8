"""The pages: declaring on a phone, the QR page, follow-up, movements and
the checkpoint's paper form; and the JSON API beside them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from truyvet.declarations.checkpoints import checkpoint_scan
from truyvet.declarations.models import CheckpointPass, Declaration
from truyvet.declarations.selectors import declaration_qr
from truyvet.declarations.services import declaration_submit
from truyvet.testing import ApiClient

from .conftest import health, movement, today

pytestmark = pytest.mark.django_db


def form_data(personas: Any, **changes: Any) -> dict[str, Any]:
    units = personas.units
    data = {
        "full_name": "Nguyễn Thị Hoa", "birth_year": "1990", "sex": "female",
        "nationality": "VN", "id_number": "004190123456",
        "commune": f"{units.thanh_nhat.full_name} ({units.thanh_nhat.code})",
        "street": "Tổ 3", "phone": "0912000007", "travelled": "0", "symptoms": "0",
        "contact_case": "0", "contact_abroad": "0", "contact_symptoms": "0", "consent": "on",
        "vehicle": "coach", "origin": units.quang_hoa_commune.code,
        "destination": f"{units.thanh_nhat.full_name} ({units.thanh_nhat.code})",
        "plate": "11B-012.34", "departure_date": str(today() + timedelta(days=1)),
    }
    data.update(changes)
    return data


def test_a_citizen_declares_a_trip_and_sees_its_qr_with_its_expiry(
    personas: Any, client: Any,
) -> None:
    client.force_login(personas.citizen)
    form = client.get("/declarations/new/movement/")
    assert form.status_code == 200 and 'list="commune-options"' in form.content.decode()
    response = client.post("/declarations/new/movement/", form_data(personas))
    assert response.status_code == 302, response.content.decode()[:2000]
    declaration = Declaration.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page and "Có giá trị đến" in page
    assert declaration_qr(declaration)[0] in page


def test_the_form_shows_each_bad_input_on_its_field(personas: Any, client: Any) -> None:
    client.force_login(personas.citizen)
    page = client.post("/declarations/new/movement/", form_data(
        personas, plate="XYZ", destination=personas.units.quang_hoa_commune.code))
    text = page.content.decode()
    assert page.status_code == 200 and not Declaration.objects.exists()
    assert "Biển số xe không đúng định dạng" in text and "Nơi đến phải khác nơi đi" in text


def test_an_update_from_the_page_keeps_the_old_version(personas: Any, client: Any) -> None:
    first = declaration_submit(actor=personas.citizen, data=movement(personas))
    client.force_login(personas.citizen)
    edit = client.get(f"/declarations/{first.series}/update/")
    assert "11A-123.45" in edit.content.decode()
    response = client.post(f"/declarations/{first.series}/update/",
                           form_data(personas, seat="7"))
    assert response.status_code == 302
    assert Declaration.objects.filter(series=first.series).count() == 2


def test_the_card_prints_as_a_pdf_for_its_declarant_only(personas: Any, client: Any) -> None:
    first = declaration_submit(actor=personas.citizen, data=movement(personas))
    client.force_login(personas.citizen)
    card = client.get(f"/declarations/{first.series}/card.pdf")
    assert card.status_code == 200 and card.content.startswith(b"%PDF")
    client.force_login(personas.other_citizen)
    assert client.get(f"/declarations/{first.series}/card.pdf").status_code == 404


def test_the_follow_up_list_counts_and_marks_done(personas: Any, client: Any) -> None:
    coughing = declaration_submit(actor=personas.citizen, data=health(personas, symptoms=True))
    declaration_submit(actor=personas.citizen, data=health(personas))
    client.force_login(personas.commune_officer)
    page = client.get("/declarations/follow-up/").content.decode()
    assert 'id="open-count">1<' in page and "N. T. Hoa" in page and "Nguyễn Thị Hoa" not in page
    client.post("/declarations/follow-up/?done=", {"declaration": coughing.pk,
                                                    "note": "Đã gọi điện"})
    page = client.get("/declarations/follow-up/").content.decode()
    assert 'id="open-count">0<' in page and 'id="done-count">1<' in page


def test_the_paper_form_records_a_declaration_and_its_pass(
    personas: Any, checkpoint: Any, client: Any,
) -> None:
    client.force_login(personas.controller)
    data = form_data(personas, direction="", commune="", street="")
    page = client.post(f"/declarations/checkpoint/{checkpoint.code}/paper/", data)
    text = page.content.decode()
    assert page.status_code == 200 and 'id="paper-result"' in text, text[:3000]
    row = CheckpointPass.objects.get()
    assert row.declaration.on_behalf and row.declaration.declared_by == personas.controller
    assert row.declaration.commune == personas.units.quang_hoa_commune  # the origin
    assert "11B-012.34" in text


def test_the_door_page_shows_a_declaration_scan_without_javascript(
    personas: Any, checkpoint: Any, client: Any,
) -> None:
    token = declaration_qr(declaration_submit(actor=personas.citizen,
                                              data=movement(personas)))[0]
    client.force_login(personas.controller)
    page = client.post(f"/checkins/control/{checkpoint.code}/",
                       {"action": "scan", "payload": token})
    text = page.content.decode()
    assert "N. T. Hoa" in text and "11A-123.45" in text and "Lộ trình" in text
    assert CheckpointPass.objects.count() == 1


def test_the_destination_officer_sees_the_arrival(
    personas: Any, checkpoint: Any, client: Any,
) -> None:
    token = declaration_qr(declaration_submit(actor=personas.citizen,
                                              data=movement(personas)))[0]
    checkpoint_scan(controller=personas.controller, venue=checkpoint, payload=token)
    client.force_login(personas.commune_officer)
    page = client.get("/declarations/movements/").content.decode()
    assert "N. T. Hoa" in page and "11A-123.45" in page


def test_the_api_declares_and_scans(personas: Any, checkpoint: Any) -> None:
    citizen = ApiClient(personas.citizen)
    body = {**{k: v for k, v in vars(movement(personas)).items()},
            "departure_date": str(today() + timedelta(days=1))}
    created = citizen.post("/declarations/", body)
    assert created.status_code == 201, created.content
    token = created.json()["qr"]
    scanned = ApiClient(personas.controller).post(
        "/declarations/checkpoint-scan", {"venue": checkpoint.code, "payload": token})
    assert scanned.status_code == 201 and scanned.json()["direction"] == "in"
    arrivals = ApiClient(personas.commune_officer).get("/declarations/movements")
    assert arrivals.json()["days"][0]["arrivals"] == 1


def test_the_api_reports_a_bad_plate_in_english(personas: Any) -> None:
    client = ApiClient(personas.citizen, language="en")
    body = {**vars(movement(personas)), "plate": "??", "departure_date": str(today())}
    answer = client.post("/declarations/", body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["errors"][0]["field"] == "plate" and error["errors"][0]["code"] == "plate_invalid"
    assert "plate" in error["errors"][0]["message"].lower()
