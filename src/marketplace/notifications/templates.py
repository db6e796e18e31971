"""Texts of notifications, e-mails and SMS, rendered in the recipient's language.

Titles and bodies are gettext msgids (see `rules.py`) formatted with the event's
payload; a value missing from the payload renders as "-" instead of failing, so a
new field in a template never makes an event undeliverable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketplace.core.i18n import _, available_languages, negotiate_language, translate
from marketplace.notifications.rules import Rule

MISSING = "-"
TITLE_MAX = 200
SMS_MAX = 320

EMAIL_GREETING = _("Hello {name},")
EMAIL_GREETING_ANONYMOUS = _("Hello,")
EMAIL_FOOTER = _(
    "You receive this message because of your notification preferences. "
    "You can change them in your account settings."
)
EMAIL_SIGNATURE = _("Your B2B Marketplace team")


class _Params(dict[str, str]):
    """Formatting values; a missing key renders as a placeholder and is remembered."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.missing: set[str] = set()

    def __missing__(self, key: str) -> str:
        self.missing.add(key)
        return MISSING


def _text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    return str(value)


def params_of(payload: dict[str, Any]) -> dict[str, str]:
    return {key: _text(value) for key, value in payload.items()}


def language_of(locale: str | None) -> str:
    """The catalog language for a user's locale ("de-AT" → "de"), English otherwise."""
    language = negotiate_language(locale)
    return language if language in available_languages() else "en"


def _format(message: str, language: str, params: dict[str, str]) -> str:
    return translate(message, language).format_map(_Params(params))


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    link: str | None


def render(rule: Rule, payload: dict[str, Any], language: str) -> Rendered:
    params = params_of(payload)
    link: str | None = None
    if rule.link is not None:
        values = _Params(params)
        formatted = rule.link.format_map(values)
        link = None if values.missing else formatted
    return Rendered(
        title=_format(rule.title, language, params)[:TITLE_MAX],
        body=_format(rule.body, language, params),
        link=link,
    )


def email_body(rendered: Rendered, name: str, language: str) -> str:
    greeting = (
        _format(EMAIL_GREETING, language, {"name": name})
        if name
        else translate(EMAIL_GREETING_ANONYMOUS, language)
    )
    return "\n\n".join(
        [
            greeting,
            rendered.body,
            translate(EMAIL_SIGNATURE, language),
            "-- \n" + translate(EMAIL_FOOTER, language),
        ]
    )


def sms_text(rendered: Rendered) -> str:
    text = f"{rendered.title}: {rendered.body}"
    return text if len(text) <= SMS_MAX else text[: SMS_MAX - 1] + "…"
