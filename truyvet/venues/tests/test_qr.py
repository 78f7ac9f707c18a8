"""Signed venue QR codes: the key ring, the payload, parsing and resolving."""

from __future__ import annotations

import base64
import io
from typing import Any
from xml.etree import ElementTree

import PIL.Image
import pytest
import segno
import zxingcpp
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from truyvet.core import signing
from truyvet.core.errors import ServiceError
from truyvet.venues.models import Venue, VenueStatus, VenueType
from truyvet.venues.qr import (
    CODE_ALPHABET,
    CODE_LENGTH,
    venue_code_generate,
    venue_qr_code,
    venue_qr_parse,
    venue_qr_payload,
    venue_qr_png,
    venue_qr_resolve,
    venue_qr_svg,
    venue_qr_token,
)
from truyvet.venues.readiness import venue_require_ready
from truyvet.venues.services import venue_qr_revoke, venue_register, venue_status_change

BASE_URL = "https://truyvet.caobang.gov.vn"  # 30 characters, like a real deployment
OLD_KEY = "k1:old-secret-0123456789abcdef"
NEW_KEY = "k2:new-secret-0123456789abcdef"


def a_venue(personas: Any, *, name: str = "Trạm Y tế xã An Lạc") -> Venue:
    """A venue in Xã An Lạc that the Hạ Lang officer registers for the venue
    owner (active at once)."""
    return venue_register(
        actor=personas.district_officer, name=name, venue_type=VenueType.HEALTH,
        commune=personas.units.an_lac, street="Xóm Bản Thuôn",
        contact_phone=personas.venue_owner.phone,
    )


def stopped(personas: Any, venue: Venue, status: str) -> Venue:
    return venue_status_change(actor=personas.district_officer, venue=venue, status=status,
                               reason="Kiểm tra phòng dịch")


def never_stored() -> Venue:
    """A venue object with a fresh code that no stored venue has."""
    return Venue(code=venue_code_generate(), qr_version=1)


def rejection(payload: str, *, for_checkin: bool = False) -> ServiceError:
    """Why the QR, or (``for_checkin``) a check-in at its venue, is refused:
    whether a venue takes check-ins is the one rule of venues.readiness."""
    with pytest.raises(ServiceError) as caught:
        venue = venue_qr_resolve(payload)
        if for_checkin:
            venue_require_ready(venue)
    return caught.value


def with_token(payload: str, token: str) -> str:
    return payload.rsplit("/", 1)[0] + "/" + token


def changed(text: str, position: int, alphabet: str) -> str:
    """``text`` with the character at ``position`` replaced by another one."""
    replacement = next(c for c in alphabet if c != text[position])
    return text[:position] + replacement + text[position + 1:]


@pytest.fixture(autouse=True)
def _deployment(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = BASE_URL
    settings.QR_SIGNING_KEYS = ""


# --- the key ring -------------------------------------------------------------------


def test_a_signature_verifies_only_its_own_message_and_purpose() -> None:
    kid, tag = signing.sign(b"HK7M3QWX.1", purpose="venues.qr")

    assert len(tag) == signing.TAG_BYTES == 10
    assert signing.verify(b"HK7M3QWX.1", kid=kid, tag=tag, purpose="venues.qr")
    assert not signing.verify(b"HK7M3QWX.2", kid=kid, tag=tag, purpose="venues.qr")
    assert not signing.verify(b"HK7M3QWX.1", kid=kid, tag=tag, purpose="declarations.qr")
    assert not signing.verify(b"HK7M3QWX.1", kid="zz", tag=tag, purpose="venues.qr")


def test_without_configured_keys_a_development_key_is_derived_from_the_secret_key(
    settings: Any,
) -> None:
    settings.SECRET_KEY = "first-secret-key-for-this-test-only"
    kid, first = signing.sign(b"message", purpose="p")
    settings.SECRET_KEY = "second-secret-key-for-this-test-only"
    _kid, second = signing.sign(b"message", purpose="p")

    assert kid == signing.DEVELOPMENT_KID == "d"
    assert first != second
    assert not signing.verify(b"message", kid=kid, tag=first, purpose="p")


def test_a_new_key_put_first_signs_while_the_old_key_still_verifies(settings: Any) -> None:
    settings.QR_SIGNING_KEYS = OLD_KEY
    old_kid, old_tag = signing.sign(b"poster", purpose="venues.qr")

    settings.QR_SIGNING_KEYS = f"{NEW_KEY},{OLD_KEY}"
    new_kid, new_tag = signing.sign(b"poster", purpose="venues.qr")

    assert (old_kid, new_kid) == ("k1", "k2")
    assert new_tag != old_tag
    assert signing.verify(b"poster", kid="k1", tag=old_tag, purpose="venues.qr")
    assert signing.verify(b"poster", kid="K1", tag=old_tag, purpose="venues.qr")
    assert signing.verify(b"poster", kid="k2", tag=new_tag, purpose="venues.qr")

    settings.QR_SIGNING_KEYS = NEW_KEY  # the old key is retired
    assert not signing.verify(b"poster", kid="k1", tag=old_tag, purpose="venues.qr")


@pytest.mark.parametrize(("value", "complaint"), [
    ("k1", "must look like 'kid:secret'"),
    ("abc:0123456789abcdef", "1-2 characters"),
    ("k-:0123456789abcdef", "1-2 characters"),
    (":0123456789abcdef", "1-2 characters"),
    ("k1:too-short", "at least 16 characters"),
    ("k1:0123456789abcdef,", "must look like 'kid:secret'"),
    ("a1:0123456789abcdef,A1:fedcba9876543210", "appears twice"),
])
def test_a_malformed_key_setting_is_refused_with_a_clear_message(
    settings: Any, value: str, complaint: str,
) -> None:
    settings.QR_SIGNING_KEYS = value
    with pytest.raises(ImproperlyConfigured, match="QR_SIGNING_KEYS") as caught:
        signing.sign(b"x", purpose="p")
    assert complaint in str(caught.value)


def test_a_key_never_shows_its_secret_when_printed() -> None:
    (key,) = signing.parse_signing_keys("k1:a-very-secret-value-123")
    assert "a-very-secret-value-123" not in repr(key)


# --- codes and payloads -------------------------------------------------------------


def test_venue_codes_have_no_look_alike_characters() -> None:
    codes = {venue_code_generate() for _ in range(2000)}

    assert len(codes) == 2000
    assert all(len(code) == CODE_LENGTH for code in codes)
    used = set("".join(codes))
    assert used <= set(CODE_ALPHABET)
    assert not used & set("0O1IL2Z5S8B")
    assert used == set(CODE_ALPHABET)  # and every allowed character turns up


def test_the_payload_fits_a_version_6_qr_at_level_m(settings: Any) -> None:
    settings.QR_SIGNING_KEYS = "Z9:a-production-secret-of-some-length"  # the longest kid
    venue = never_stored()
    venue.qr_version = 999  # revoked many times over

    payload = venue_qr_payload(venue)

    assert payload.startswith(f"{BASE_URL}/v/{venue.code}.999.Z9")
    at_level_m = segno.make(payload, error="m", boost_error=False, micro=False)
    assert isinstance(at_level_m.version, int) and at_level_m.version <= 6
    symbol = venue_qr_code(venue)
    assert isinstance(symbol.version, int) and symbol.version <= 6
    assert symbol.error in {"M", "Q", "H"}


@pytest.mark.django_db
def test_a_scanned_payload_resolves_to_its_venue_with_one_query(
    personas: Any, django_assert_num_queries: Any,
) -> None:
    venue = a_venue(personas)
    payload = venue_qr_payload(venue)

    with django_assert_num_queries(1):
        found = venue_qr_resolve(payload)
        assert found.commune.full_name == "Xã An Lạc, Huyện Hạ Lang, Tỉnh Cao Bằng"
    assert found == venue


@pytest.mark.django_db
@pytest.mark.parametrize("variant", [
    lambda url: url.lower(),
    lambda url: url.upper(),
    lambda url: url + "/",
    lambda url: f"  {url}\n",
    lambda url: url.replace(BASE_URL, "http://127.0.0.1:8000"),
    lambda url: url.replace(BASE_URL, "https://example.org/truyvet"),
    lambda url: url + "?utm_source=poster#top",
    lambda url: url.removeprefix(BASE_URL),  # "/v/TOKEN"
    lambda url: url.removeprefix(BASE_URL + "/"),  # "v/TOKEN"
    lambda url: url.rsplit("/", 1)[1],  # the token alone
    lambda url: url.rsplit("/", 1)[1].lower() + "/",
], ids=["lower", "upper", "slash", "spaces", "local-host", "other-host-and-path", "query",
        "path", "relative-path", "token", "token-lower-slash"])
def test_parsing_tolerates_case_slashes_hosts_and_bare_tokens(personas: Any, variant: Any) -> None:
    venue = a_venue(personas)
    payload = venue_qr_payload(venue)

    parsed = venue_qr_parse(variant(payload))

    assert parsed == venue_qr_parse(payload)
    assert (parsed.code, parsed.version) == (venue.code, 1)
    assert venue_qr_resolve(variant(payload)) == venue


@pytest.mark.parametrize("payload", [
    "",
    "   ",
    "hello",
    "https://truyvet.caobang.gov.vn/",
    "https://truyvet.caobang.gov.vn/v/",
    "https://truyvet.caobang.gov.vn/x/HK7M3QWX.1.DMFRGGZDFMZTWQ2LK",
    "HK7M3QWX",
    "HK7M3QWX.1",
    "HK7M3QWX.1.D",
    "HK7M3QWX.1.DMFRGGZDFMZTWQ2L",  # signature one character short
    "HK7M3QWX.0.DMFRGGZDFMZTWQ2LK",  # versions start at 1
    "HK7M3QWX.1.DMFRGGZDFMZTWQ2LK.extra",
    "HK7M3QWX.1.D-MFRGGZDFMZTWQ2L",
    "HCERT:HK7M3QWX.1.DMFRGGZDFMZTWQ2LK",
    "001090123456|012345678|Nguyễn Văn A|01011990|Nam|Phường Bến Nghé|15042021",
    "http://[::1",  # not even a URL
    "V" * 10_000,
])
def test_anything_that_is_not_a_venue_code_is_malformed(payload: str) -> None:
    error = rejection(payload)

    assert error.code == "qr_malformed"
    assert error.status == 400


# --- what gets rejected, and how -----------------------------------------------------


@pytest.mark.django_db
def test_every_one_character_change_in_the_code_is_rejected_as_forged(personas: Any) -> None:
    venue = a_venue(personas)
    token = venue_qr_token(venue)

    for position in range(len(venue.code)):
        for alphabet in (CODE_ALPHABET, "0123456789", "OILZSB"):
            altered = changed(token, position, alphabet)
            error = rejection(with_token(venue_qr_payload(venue), altered))
            assert error.code == "qr_forged", altered


@pytest.mark.django_db
def test_a_code_changed_into_another_real_venue_is_still_forged(personas: Any) -> None:
    venue = a_venue(personas)
    neighbour = a_venue(personas, name="Chợ An Lạc")
    token = venue_qr_token(venue)

    grafted = neighbour.code + token[len(venue.code):]

    assert rejection(grafted).code == "qr_forged"


@pytest.mark.django_db
def test_every_one_character_change_in_the_signature_or_key_id_is_rejected_as_forged(
    personas: Any,
) -> None:
    venue = a_venue(personas)
    token = venue_qr_token(venue)
    kid_start = token.rindex(".") + 1

    for position in range(kid_start, len(token)):
        # base32 letters, and digits outside base32 that a vandal might paint in
        for alphabet in ("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0189"):
            altered = changed(token, position, alphabet)
            error = rejection(altered)
            assert error.code == "qr_forged", altered
            assert error.status == 400


@pytest.mark.django_db
def test_a_forged_code_is_rejected_without_touching_the_database(
    personas: Any, django_assert_num_queries: Any,
) -> None:
    venue = a_venue(personas)
    token = venue_qr_token(venue)
    altered = changed(token, len(token) - 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    with django_assert_num_queries(0):
        assert rejection(altered).code == "qr_forged"


@pytest.mark.django_db
def test_a_poster_signed_by_another_deployment_is_forged(personas: Any, settings: Any) -> None:
    venue = a_venue(personas)
    settings.QR_SIGNING_KEYS = "d:someone-elses-secret-key-0123"
    elsewhere = venue_qr_payload(venue)
    settings.QR_SIGNING_KEYS = ""

    assert rejection(elsewhere).code == "qr_forged"


@pytest.mark.django_db
def test_bumping_the_qr_version_revokes_the_old_poster_and_the_new_one_resolves(
    personas: Any,
) -> None:
    venue = a_venue(personas)
    old_poster = venue_qr_payload(venue)
    venue_qr_revoke(actor=personas.venue_owner, venue=venue)
    new_poster = venue_qr_payload(venue)

    error = rejection(old_poster)

    assert error.code == "qr_revoked"
    assert error.status == 410
    assert new_poster != old_poster
    assert venue_qr_resolve(new_poster) == venue
    assert venue_qr_resolve(new_poster).qr_version == 2


@pytest.mark.django_db
def test_a_revoked_poster_with_its_version_painted_over_to_the_current_one_is_forged(
    personas: Any,
) -> None:
    """The signature covers ``CODE.VERSION``, not the code alone: a vandal
    who edits the version digit of a revoked poster gets nothing."""
    venue = a_venue(personas)
    old_token = venue_qr_token(venue)
    venue_qr_revoke(actor=personas.venue_owner, venue=venue)
    code, version, signed = old_token.split(".")
    assert version == "1"

    edited = f"{code}.{venue.qr_version}.{signed}"

    assert rejection(edited).code == "qr_forged"
    assert rejection(f"{code}.{venue.qr_version + 1}.{signed}").code == "qr_forged"


@pytest.mark.django_db
def test_a_current_poster_with_its_version_edited_is_forged_not_revoked(personas: Any) -> None:
    venue = a_venue(personas)
    code, _version, signed = venue_qr_token(venue).split(".")

    for version in ("2", "11", "999999999"):
        assert rejection(f"{code}.{version}.{signed}").code == "qr_forged", version


@pytest.mark.django_db
def test_a_genuinely_signed_code_that_no_venue_has_is_unknown() -> None:
    error = rejection(venue_qr_payload(never_stored()))

    assert error.code == "qr_unknown"
    assert error.status == 404


@pytest.mark.django_db
def test_a_venue_that_takes_no_check_ins_resolves_for_display_but_not_for_check_in(
    personas: Any, settings: Any,
) -> None:
    settings.VENUE_REQUIRE_APPROVAL = True
    pending = venue_register(
        actor=personas.venue_owner, name="Quán phở Bà Tư", venue_type=VenueType.RESTAURANT,
        commune=personas.units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone,
    )
    suspended = stopped(personas, a_venue(personas), VenueStatus.SUSPENDED)
    closed = stopped(personas, a_venue(personas, name="Chợ An Lạc"), VenueStatus.CLOSED)
    active = a_venue(personas, name="Trường Tiểu học An Lạc")
    assert pending.status == VenueStatus.PENDING

    messages = set()
    for venue in (pending, suspended, closed):
        assert venue_qr_resolve(venue_qr_payload(venue)) == venue
        error = rejection(venue_qr_payload(venue), for_checkin=True)
        assert error.code == "venue_inactive"
        assert error.status == 409
        messages.add(str(error.message))
    assert len(messages) == 3  # says which: awaiting approval, suspended or closed
    venue_require_ready(venue_qr_resolve(venue_qr_payload(active)))  # no refusal


@pytest.mark.django_db
def test_each_rejection_has_its_own_message_in_vietnamese_and_in_english(personas: Any) -> None:
    venue = a_venue(personas)
    forged = changed(venue_qr_token(venue), 0, CODE_ALPHABET)
    revoked = venue_qr_payload(venue)
    venue_qr_revoke(actor=personas.venue_owner, venue=venue)
    unknown = venue_qr_payload(never_stored())
    closed = stopped(personas, a_venue(personas, name="Chợ An Lạc"), VenueStatus.CLOSED)
    errors = {
        "qr_malformed": rejection("hello"),
        "qr_forged": rejection(forged),
        "qr_revoked": rejection(revoked),
        "qr_unknown": rejection(unknown),
        "venue_inactive": rejection(venue_qr_payload(closed), for_checkin=True),
    }
    assert {code: error.code for code, error in errors.items()} == {c: c for c in errors}

    for language in ("vi", "en"):
        with translation.override(language):
            messages = {code: str(error.message) for code, error in errors.items()}
        assert len(set(messages.values())) == len(messages), messages
    with translation.override("vi"):
        vietnamese = {str(error.message) for error in errors.values()}
    with translation.override("en"):
        english = {str(error.message) for error in errors.values()}
    assert not vietnamese & english  # every message is translated
    assert all(message.isascii() for message in english)


# --- images --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_png_decodes_to_the_payload(personas: Any) -> None:
    venue = a_venue(personas)

    image = PIL.Image.open(io.BytesIO(venue_qr_png(venue, scale=4)))
    (decoded,) = zxingcpp.read_barcodes(image)

    assert decoded.format == zxingcpp.BarcodeFormat.QRCode
    assert decoded.text == venue_qr_payload(venue)
    modules = len(venue_qr_code(venue).matrix)
    assert image.size == ((modules + 8) * 4,) * 2  # 4-module quiet zone on each side


@pytest.mark.django_db
def test_the_svg_is_the_same_symbol_titled_with_the_venue_name(personas: Any) -> None:
    venue = a_venue(personas, name="Quán ăn <Bà Tư> & con")

    root = ElementTree.fromstring(venue_qr_svg(venue))  # noqa: S314 - our own output

    namespace = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{namespace}svg"
    assert root.findtext(f"{namespace}title") == "Quán ăn <Bà Tư> & con"
    modules = len(venue_qr_code(venue).matrix)
    assert float(root.attrib["width"]) == (modules + 8) * 10
    assert root.find(f"{namespace}path") is not None


def test_a_signature_is_16_base32_characters() -> None:
    _kid, tag = signing.sign(b"X", purpose="venues.qr")
    text = base64.b32encode(tag).decode()
    assert len(text) == 16
    assert "=" not in text
