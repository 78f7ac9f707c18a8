import pytest

from truyvet.accounts.phones import PhoneError, normalize_phone


@pytest.mark.parametrize(
    "written",
    ["0912 345 678", "+84912345678", "84912345678", "0912-345-678", "(+84) 912.345.678",
     "0084912345678"],
)
def test_it_accepts_the_ways_people_write_a_mobile_number(written: str) -> None:
    assert normalize_phone(written) == "+84912345678"


@pytest.mark.parametrize(
    "written",
    [
        "",  # nothing
        "0912 345 67",  # a digit short
        "09123456789",  # a digit too many
        "0912abc678",  # letters
        "+1 202 555 0143",  # not Vietnamese
        "0243 826 1234",  # a Hà Nội landline, not a mobile
        "0112345678",  # no such mobile prefix
    ],
)
def test_it_rejects_what_is_not_a_vietnamese_mobile_number(written: str) -> None:
    with pytest.raises(PhoneError):
        normalize_phone(written)


def test_it_asks_for_a_number_when_none_is_given() -> None:
    with pytest.raises(PhoneError, match="Vui lòng nhập số điện thoại"):
        normalize_phone("   ")
