"""Every Vietnamese message of the places app has an English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from truyvet.places.models import Kind, Level, Scheme

CATALOGUE = Path(__file__).parents[1] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_every_message_has_an_english_translation() -> None:
    with open(CATALOGUE, "rb") as handle:
        catalog = read_po(handle)

    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (
            not all(message.string)
            if isinstance(message.string, tuple)
            else not message.string
        )
    ]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_every_choice_label_is_in_the_catalogue() -> None:
    with open(CATALOGUE, "rb") as handle:
        catalog = read_po(handle)

    labels = {str(label) for choices in (Kind, Level, Scheme) for _value, label in choices.choices}
    assert labels - {message.id for message in catalog} == set()
