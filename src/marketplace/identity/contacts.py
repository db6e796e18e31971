"""Normalisation of sign-in destinations: E.164 phone numbers and e-mail addresses."""

from __future__ import annotations

from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

Channel = Literal["email", "phone"]


def normalize_email(value: str) -> str:
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError("not a valid e-mail address") from error
    return result.normalized.lower()


def normalize_phone(value: str) -> str:
    if not value.startswith("+"):
        raise ValueError("phone numbers must be in international format, e.g. +4915112345678")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a valid phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_contact(value: str) -> tuple[Channel, str]:
    """An e-mail address or an E.164 phone number, whichever the value is."""
    if "@" in value:
        return "email", normalize_email(value)
    return "phone", normalize_phone(value)
