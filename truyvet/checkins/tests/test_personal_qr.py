"""The personal QR: a short signed token that stands for a person without
carrying their data, verifiable offline, rotatable and revocable."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client

from truyvet.checkins.models import PersonalQrKey
from truyvet.checkins.personal_qr import (
    personal_qr_measure,
    personal_qr_public_key_b64,
    personal_qr_revoke,
    personal_qr_rotate,
    personal_qr_token,
    personal_qr_verify,
)
from truyvet.core.errors import ServiceError


def _flip(char: str) -> str:
    return "B" if char != "B" else "C"


@pytest.mark.django_db
class TestPersonalQr:
    def test_a_token_stands_for_its_person(self, personas: Any) -> None:
        person = personas.citizen.person
        assert personal_qr_verify(personal_qr_token(person)) == person

    def test_the_same_person_gets_the_same_token_until_rotation(self, personas: Any) -> None:
        person = personas.citizen.person
        assert personal_qr_token(person) == personal_qr_token(person)
        assert PersonalQrKey.objects.filter(person=person).count() == 1

    def test_it_carries_no_id_number_birth_date_or_phone(self, personas: Any) -> None:
        person = personas.citizen.person
        token = personal_qr_token(person)
        digits = "".join(ch for ch in token if ch.isdigit())
        for secret in (person.id_number, person.phone, person.phone[3:], "0" + person.phone[3:],
                       person.birth_date.strftime("%Y%m%d"), person.birth_date.strftime("%d%m%Y"),
                       person.birth_date.isoformat(), str(person.birth_year)):
            assert secret not in token
            assert secret.replace("-", "") not in digits
        ref = PersonalQrKey.objects.get(person=person).ref
        assert token.split(".")[1] == ref  # an opaque random reference, nothing else
        assert len(ref) == 12 and set(ref) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    def test_it_is_short_enough_for_a_small_qr(self, personas: Any) -> None:
        measured = personal_qr_measure(personal_qr_token(personas.citizen.person))
        assert measured.length == 122
        assert measured.qr_version == 5
        assert (measured.error, measured.mode) == ("M", "alphanumeric")

    def test_a_controller_verifies_it_offline_with_the_public_key(self, personas: Any) -> None:
        token = personal_qr_token(personas.citizen.person)
        signed, _dot, signature = token.rpartition(".")
        public = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(personal_qr_public_key_b64())
        )
        raw = base64.b32decode(signature + "=" * (-len(signature) % 8))
        public.verify(raw, signed.encode())  # raises if invalid

    @pytest.mark.parametrize("where", ["ref", "version", "signature_start", "signature_end"])
    def test_an_altered_token_is_refused_as_forged(self, personas: Any, where: str) -> None:
        token = personal_qr_token(personas.citizen.person)
        prefix, ref, version, signature = token.split(".")
        if where == "ref":
            ref = _flip(ref[0]) + ref[1:]
        elif where == "version":
            version = str(int(version) + 1)
        elif where == "signature_start":
            signature = _flip(signature[0]) + signature[1:]
        else:
            # The last base32 character carries 3 unused bits: even a change
            # there must not pass.
            signature = signature[:-1] + ("Q" if signature[-1] != "Q" else "A")
        with pytest.raises(ServiceError) as exc:
            personal_qr_verify(".".join((prefix, ref, version, signature)))
        assert exc.value.code == "personal_qr_forged"

    def test_a_token_signed_with_another_key_is_forged(self, personas: Any, settings: Any) -> None:
        token = personal_qr_token(personas.citizen.person)
        settings.PERSONAL_QR_PRIVATE_KEY = base64.b64encode(b"\x01" * 32).decode()
        with pytest.raises(ServiceError) as exc:
            personal_qr_verify(token)
        assert exc.value.code == "personal_qr_forged"

    @pytest.mark.parametrize("text", ["", "TV1", "TV1.ABC.1.DEF", "hello", "TV2.AAAAAAAAAAAA.1."
                                      + "A" * 103])
    def test_other_text_is_malformed(self, personas: Any, text: str) -> None:
        with pytest.raises(ServiceError) as exc:
            personal_qr_verify(text)
        assert exc.value.code == "personal_qr_malformed"

    def test_rotation_revokes_every_earlier_token(self, personas: Any) -> None:
        person = personas.citizen.person
        old = personal_qr_token(person)
        new = personal_qr_rotate(person)
        assert new != old
        assert personal_qr_verify(new) == person
        with pytest.raises(ServiceError) as exc:
            personal_qr_verify(old)
        assert exc.value.code == "personal_qr_revoked"

    def test_a_revoked_qr_stops_working_until_rotated(self, personas: Any) -> None:
        person = personas.citizen.person
        token = personal_qr_token(person)
        personal_qr_revoke(person)
        with pytest.raises(ServiceError) as exc:
            personal_qr_verify(token)
        assert exc.value.code == "personal_qr_revoked"
        assert personal_qr_verify(personal_qr_rotate(person)) == person


@pytest.mark.django_db
class TestPersonalQrApiAndPages:
    def test_the_public_key_is_published_for_offline_verifiers(self, client: Client) -> None:
        body = client.get("/api/v1/checkins/personal-qr/public-key").json()
        assert body["alg"] == "Ed25519"
        assert body["public_key"] == personal_qr_public_key_b64()
        assert len(base64.b64decode(body["public_key"])) == 32

    def test_a_citizen_reads_their_own_token(self, client: Client, personas: Any) -> None:
        client.force_login(personas.citizen)
        body = client.get("/api/v1/checkins/personal-qr").json()
        assert personal_qr_verify(body["token"]) == personas.citizen.person
        # No dose, test or recovery: red under the default rules (issue 16).
        assert body["card_colour"] == "red"
        assert body["qr_version"] <= 5

    def test_rotating_through_the_api_revokes_the_old_token(
        self, client: Client, personas: Any
    ) -> None:
        client.force_login(personas.citizen)
        old = client.get("/api/v1/checkins/personal-qr").json()["token"]
        new = client.post("/api/v1/checkins/personal-qr/rotate").json()["token"]
        assert new != old
        with pytest.raises(ServiceError):
            personal_qr_verify(old)

    def test_the_page_shows_the_qr_the_short_name_and_the_colour(
        self, client: Client, personas: Any
    ) -> None:
        client.force_login(personas.citizen)
        page = client.get("/checkins/qr/").content.decode()
        assert "<svg" in page
        assert "N. T. Hoa" in page
        assert "Thẻ đỏ" in page
        assert personas.citizen.person.id_number not in page

    def test_a_citizen_prints_their_own_card_as_a_pdf(
        self, client: Client, personas: Any
    ) -> None:
        client.force_login(personas.citizen)
        response = client.get("/checkins/qr/card.pdf")
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
