"""Every translatable message has a translation in every catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from marketplace.core.i18n import LOCALES_DIR, available_languages, negotiate_language, translate

SOURCE_DIR = Path(__file__).resolve().parents[2] / "src" / "marketplace"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def source_messages() -> set[str]:
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(SOURCE_DIR), keywords={"_": None}, method_map=[("**.py", "python")]
        )
        if isinstance(message, str)
    }


def test_at_least_three_languages_are_available() -> None:
    assert {"en", "de", "fr", "es"} <= set(available_languages())


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_catalog_translates_every_message(language: str) -> None:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    messages = source_messages()
    assert messages, "no translatable messages found in the source"
    for message in messages:
        entry = catalog.get(message)
        assert entry is not None, f"{language}: missing {message!r}"
        assert entry.string, f"{language}: missing translation of {message!r}"
        assert set(PLACEHOLDER.findall(message)) == set(PLACEHOLDER.findall(str(entry.string))), (
            f"{language}: placeholders differ in {message!r}"
        )


def test_the_template_lists_exactly_the_source_messages() -> None:
    # Translators start from messages.pot (README, "Translations"): a stale template hides
    # new messages from them.
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    assert {message.id for message in template if message.id} == source_messages()


def test_translation_formats_parameters() -> None:
    assert translate(
        "Too many requests. Try again in {retry_after} seconds.", "fr", retry_after=7
    ) == ("Trop de requêtes. Réessayez dans 7 secondes.")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-CH", "de"),
        ("fr-CA,fr;q=0.8", "fr"),
        ("en-GB,de;q=0.5", "en"),
        ("xx, es;q=0.3", "es"),
        ("de;q=0, fr;q=0.5", "fr"),
        ("*", "en"),
        ("garbage;;;q=abc", "en"),
        (None, "en"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected
