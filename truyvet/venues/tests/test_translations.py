"""Every Vietnamese message of the venues app has an English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from django.utils import translation

from truyvet.venues.models import StaffRole, VenueStatus, VenueType

CATALOGUE = Path(__file__).parents[1] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def read_catalogue():  # noqa: ANN201 - babel has no stubs
    with open(CATALOGUE, "rb") as handle:
        return read_po(handle)


def test_every_message_has_an_english_translation() -> None:
    catalog = read_catalogue()

    untranslated = [
        message.id for message in catalog
        if message.id and not (all(message.string) if isinstance(message.string, tuple)
                               else message.string)
    ]
    assert untranslated == []
    assert [message.id for message in catalog if message.id and message.fuzzy] == []


def test_every_choice_label_is_translated() -> None:
    labels = {str(label) for choices in (VenueType, VenueStatus, StaffRole)
              for _value, label in choices.choices}
    assert labels - {message.id for message in read_catalogue()} == set()

    with translation.override("en"):
        assert str(VenueType.CHECKPOINT.label) == "Quarantine checkpoint"
        assert str(StaffRole.CONTROLLER.label) == "Controller"
