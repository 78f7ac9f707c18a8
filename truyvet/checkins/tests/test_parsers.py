"""Reading the chip ID card QR, the national personal QR and telling scanned
codes apart; malformed payloads get one clear error per problem."""

from __future__ import annotations

from datetime import date

import pytest

from truyvet.accounts.models import IdKind, Sex
from truyvet.checkins.parsers import (
    PayloadKind,
    classify_payload,
    parse_cccd_qr,
    parse_national_qr,
)
from truyvet.core.errors import ServiceError

CCCD = (
    "001090123456|012345678|Nguyễn Văn A|01011990|Nam|"
    "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15042021"
)
NATIONAL = (
    "004190123456|NGUYEN THI HOA|1990-05-17|0|162979388586171100|2<GD4877123456789<0912000007"
)


def problems(exc: pytest.ExceptionInfo[ServiceError]) -> dict[str, str]:
    return {error.field: error.code for error in exc.value.errors}


class TestCccd:
    def test_it_reads_every_field_of_the_chip_card(self) -> None:
        card = parse_cccd_qr(CCCD)
        assert card.cccd == "001090123456"
        assert card.cmnd == "012345678"
        assert card.full_name == "Nguyễn Văn A"
        assert card.birth_date == date(1990, 1, 1)
        assert card.sex == Sex.MALE
        assert card.address == "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
        assert card.issue_date == date(2021, 4, 15)

    def test_the_old_cmnd_may_be_empty(self) -> None:
        card = parse_cccd_qr(CCCD.replace("|012345678|", "||"))
        assert card.cmnd == ""

    def test_a_woman_born_in_2001_reads_with_her_century_digit(self) -> None:
        card = parse_cccd_qr("004301234567||Hoàng Thị Lan|09092001|Nữ|Cao Bằng|01012022")
        assert (card.sex, card.birth_date.year) == (Sex.FEMALE, 2001)

    def test_it_tolerates_the_2024_cards_trailing_fields(self) -> None:
        card = parse_cccd_qr(CCCD + "|Nguyễn Văn B|001060000001|")
        assert card.cccd == "001090123456"
        assert card.extra == ("Nguyễn Văn B", "001060000001")

    def test_it_accepts_decomposed_unicode_and_the_scanners_line_end(self) -> None:
        import unicodedata

        card = parse_cccd_qr(unicodedata.normalize("NFD", CCCD) + "\r\n")
        assert card.full_name == "Nguyễn Văn A"
        assert card.sex == Sex.MALE

    def test_missing_fields_are_named_with_the_count(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr("001090123456|012345678|Nguyễn Văn A|01011990")
        assert exc.value.code == "cccd_malformed"
        assert problems(exc) == {"payload": "missing_fields"}
        assert "7" in str(exc.value.errors[0].message) and "4" in str(exc.value.errors[0].message)

    @pytest.mark.parametrize("number", ["00109012345", "0010901234567", "00109012345A"])
    def test_a_cccd_without_exactly_twelve_digits_is_refused(self, number: str) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr(CCCD.replace("001090123456", number))
        assert problems(exc) == {"cccd": "bad_digits"}

    def test_a_cccd_with_an_unknown_province_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr(CCCD.replace("001090123456", "099090123456"))
        assert problems(exc) == {"cccd": "bad_cccd"}
        assert "099" in str(exc.value.errors[0].message)

    def test_a_cccd_that_disagrees_with_the_birth_year_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr(CCCD.replace("01011990", "01011991"))
        assert problems(exc) == {"cccd": "bad_cccd"}

    @pytest.mark.parametrize("birth", ["32011990", "29021991", "0101199", "1990-01-01"])
    def test_a_bad_birth_date_is_refused(self, birth: str) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr(CCCD.replace("01011990", birth))
        assert problems(exc) == {"birth_date": "bad_date"}

    def test_a_birth_date_in_the_future_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr(CCCD.replace("01011990", "01013990"))
        assert "birth_date" in problems(exc)

    def test_every_problem_is_reported_at_once(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr("00109012345|1234|  |31021990|Male|x|99999999")
        assert problems(exc) == {
            "cccd": "bad_digits", "cmnd": "bad_digits", "full_name": "required",
            "birth_date": "bad_date", "sex": "bad_sex", "issue_date": "bad_date",
        }

    def test_an_issue_date_before_birth_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_cccd_qr(CCCD.replace("15042021", "15041980"))
        assert problems(exc) == {"issue_date": "bad_date"}


class TestNationalQr:
    def test_it_reads_a_full_national_qr(self) -> None:
        card = parse_national_qr(NATIONAL)
        assert card.id_number == "004190123456" and not card.id_masked
        assert card.id_kind == IdKind.CCCD
        assert card.full_name == "NGUYEN THI HOA"
        assert card.birth_date == date(1990, 5, 17)
        assert card.qid == "162979388586171100"
        assert not card.proxy_declared
        assert card.ext.sex == Sex.FEMALE
        assert card.ext.bhyt == "GD4877123456789"
        assert card.ext.phone == "0912000007"

    def test_a_masked_id_and_birth_date_keep_what_is_shown(self) -> None:
        card = parse_national_qr("******123456|NGUYEN THI HOA|1990-**-**|1|162979388586171100|")
        assert card.id_masked and card.id_number == "******123456"
        assert card.id_kind == IdKind.CCCD
        assert card.birth_date is None and card.birth_year == 1990
        assert card.proxy_declared

    def test_a_fully_masked_birth_date_keeps_nothing(self) -> None:
        card = parse_national_qr("******123456|NGUYEN THI HOA|****-**-**|0|162979388586171100")
        assert card.birth_year is None and card.birth_date is None
        assert card.ext.parts == ()

    def test_ext_splits_on_angle_brackets(self) -> None:
        card = parse_national_qr(
            "123456789|TRAN VAN B|1970-01-02|1|900000000000000001|"
            "162979388586171100<1<DN4010123456789<0987654321<SIG"
        )
        assert card.ext.parts == (
            "162979388586171100", "1", "DN4010123456789", "0987654321", "SIG"
        )
        assert card.ext.proxy_qid == "162979388586171100"
        assert card.ext.sex == Sex.MALE
        assert card.ext.signature == "SIG"
        assert card.id_kind == IdKind.CMND

    def test_missing_fields_are_named(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_national_qr("004190123456|NGUYEN THI HOA|1990-05-17")
        assert exc.value.code == "national_qr_malformed"
        assert problems(exc) == {"payload": "missing_fields"}

    @pytest.mark.parametrize("birth", ["1990-13-01", "1990-02-30", "17/05/1990", "1990-5-17"])
    def test_a_bad_birth_date_is_refused(self, birth: str) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_national_qr(NATIONAL.replace("1990-05-17", birth))
        assert problems(exc) == {"birth_date": "bad_date"}

    @pytest.mark.parametrize("number", ["00419012345", "0041901234567", "*******23456"])
    def test_a_document_number_with_the_wrong_digit_count_or_mask_is_refused(
        self, number: str
    ) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_national_qr(NATIONAL.replace("004190123456", number))
        assert set(problems(exc)) == {"id_number"}

    def test_a_declaration_kind_other_than_0_or_1_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_national_qr(NATIONAL.replace("|0|", "|7|"))
        assert problems(exc) == {"declaration_kind": "invalid"}

    def test_an_empty_qid_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_national_qr(NATIONAL.replace("162979388586171100", ""))
        assert problems(exc) == {"qid": "invalid"}

    def test_a_cccd_that_disagrees_with_the_birth_year_is_refused(self) -> None:
        with pytest.raises(ServiceError) as exc:
            parse_national_qr(NATIONAL.replace("1990-05-17", "1987-05-17"))
        assert problems(exc) == {"id_number": "bad_cccd"}


class TestClassify:
    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("TV1.ABCDEFGHIJKLMNOP.1.XYZ", PayloadKind.PERSONAL_QR),
            (CCCD, PayloadKind.CCCD),
            ("001090123456|012345678|Nguyễn Văn A|0101", PayloadKind.CCCD),
            (NATIONAL, PayloadKind.NATIONAL_QR),
            ("******123456|NGUYEN THI HOA|****-**-**|0|162979388586171100",
             PayloadKind.NATIONAL_QR),
            ("https://truyvet.example.vn/v/HK7M3QWX.1.DMFRGGZDFMZTWQ2LK", PayloadKind.VENUE),
            ("hello world", PayloadKind.UNKNOWN),
            ("", PayloadKind.UNKNOWN),
            ("a|b|c", PayloadKind.UNKNOWN),
        ],
    )
    def test_it_tells_the_codes_apart(self, text: str, kind: PayloadKind) -> None:
        assert classify_payload(text) == kind
