import pytest

from truyvet.accounts.identity import (
    IdentityError,
    cccd_century_digit,
    guess_id_kind,
    validate_cccd,
    validate_identity_number,
)


def test_it_accepts_a_cccd_matching_birth_year_and_sex() -> None:
    # 004 Cao Bằng, 1 = woman born 1900-1999, 90 = 1990.
    assert validate_cccd("004 190 123 456", birth_year=1990, sex="female") == "004190123456"


def test_it_accepts_a_cccd_of_a_man_born_in_the_2000s() -> None:
    assert validate_cccd("001203123456", birth_year=2003, sex="male") == "001203123456"


@pytest.mark.parametrize("number", ["00419012345", "0041901234567", "00419012345a"])
def test_it_rejects_a_cccd_that_is_not_twelve_digits(number: str) -> None:
    with pytest.raises(IdentityError, match="12 chữ số"):
        validate_cccd(number)


def test_it_rejects_a_cccd_whose_first_three_digits_are_no_province() -> None:
    # 003 was never used: the GSO province codes skip it.
    with pytest.raises(IdentityError, match="mã tỉnh"):
        validate_cccd("003190123456")


def test_it_rejects_a_cccd_whose_fourth_digit_is_the_wrong_century() -> None:
    with pytest.raises(IdentityError, match="thế kỷ"):
        validate_cccd("004290123456", birth_year=1990, sex="")


def test_it_rejects_a_cccd_whose_fourth_digit_is_the_wrong_sex() -> None:
    with pytest.raises(IdentityError, match="giới tính"):
        validate_cccd("004090123456", birth_year=1990, sex="female")


def test_it_rejects_a_cccd_whose_fifth_and_sixth_digits_are_not_the_birth_year() -> None:
    with pytest.raises(IdentityError, match="hai số cuối năm sinh"):
        validate_cccd("004191123456", birth_year=1990, sex="female")


def test_the_century_digit_encodes_century_and_sex() -> None:
    assert cccd_century_digit(birth_year=1990, sex="male") == 0
    assert cccd_century_digit(birth_year=1990, sex="female") == 1
    assert cccd_century_digit(birth_year=2001, sex="male") == 2
    assert cccd_century_digit(birth_year=2001, sex="female") == 3


def test_it_guesses_the_kind_of_document_from_the_number() -> None:
    assert guess_id_kind("004190123456") == "cccd"
    assert guess_id_kind("012345678") == "cmnd"
    assert guess_id_kind("B1234567") == "passport"
    # A CCCD with a digit missing is still a (bad) CCCD, not a passport.
    assert guess_id_kind("00419012345") == "cccd"


def test_it_checks_cmnd_and_passport_numbers() -> None:
    assert validate_identity_number("cmnd", "012 345 678") == "012345678"
    assert validate_identity_number("passport", "b1234567") == "B1234567"
    with pytest.raises(IdentityError):
        validate_identity_number("cmnd", "1234")
    with pytest.raises(IdentityError):
        validate_identity_number("passport", "B-12")
