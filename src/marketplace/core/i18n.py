"""Translations from gettext catalogs (`locales/<lang>/LC_MESSAGES/messages.po`).

The `.po` files are compiled in memory with Babel at import time, so there is no
build step and no binary artefact in the repository. Message ids are the English
text; English needs no catalog.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANGUAGE = "en"

_current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def _(message: str) -> str:
    """Mark a msgid for extraction without translating it yet."""
    return message


@cache
def available_languages() -> tuple[str, ...]:
    languages = {DEFAULT_LANGUAGE}
    if LOCALES_DIR.is_dir():
        for po in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"):
            languages.add(po.parent.parent.name)
    return tuple(sorted(languages))


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def negotiate_language(accept_language: str | None) -> str:
    """Pick the best available language for an `Accept-Language` header value."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    weighted: list[tuple[float, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        weighted.append((quality - position * 1e-6, tag.replace("-", "_")))
    preferred = [tag for quality, tag in sorted(weighted, reverse=True) if quality > 0]
    chosen = negotiate_locale(preferred, list(available_languages()), sep="_")
    if chosen is None:
        # "de-AT" should still find "de": fall back on the primary language subtag.
        primaries = [tag.split("_")[0].lower() for tag in preferred]
        chosen = negotiate_locale(primaries, list(available_languages()))
    if chosen is None:
        return DEFAULT_LANGUAGE
    try:
        return str(Locale.parse(chosen).language)
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LANGUAGE


def translate(message: str, language: str | None = None, **params: object) -> str:
    text = _catalog(language or _current_language.get()).gettext(message)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return message.format(**params)
    return text


def format_number(value: Decimal, language: str | None = None) -> str:
    """A quantity written as the language writes numbers (44,600 / 44.600 / 44 600),
    with its own decimals and no more."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return format_decimal(
        normalized,
        format="#,##0" + ("." + "0" * decimals if decimals else ""),
        locale=language or _current_language.get(),
    )


def set_language(language: str) -> None:
    _current_language.set(language)
