from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from truyvet.places.tests.conftest import CAO_BANG, CAO_BANG_UNITS, cao_bang_units


@pytest.mark.django_db
def test_load_divisions_prints_counts_and_draws_a_progress_bar() -> None:
    out, err = StringIO(), StringIO()

    call_command("load_divisions", "--province", CAO_BANG, stdout=out, stderr=err)

    assert out.getvalue().startswith("1 province, 10 districts, 161 communes (")
    assert "updated)" in out.getvalue()
    assert "100% 172/172" in err.getvalue()
    assert cao_bang_units() == CAO_BANG_UNITS


@pytest.mark.django_db
def test_load_divisions_takes_several_provinces() -> None:
    out = StringIO()

    call_command("load_divisions", "--province", "4", "--province", "20", "-v", "0", stdout=out)

    assert out.getvalue().startswith("2 provinces, ")


@pytest.mark.django_db
def test_load_divisions_fails_cleanly_on_an_unknown_province() -> None:
    with pytest.raises(CommandError, match="99"):
        call_command("load_divisions", "--province", "99", stdout=StringIO(), stderr=StringIO())
