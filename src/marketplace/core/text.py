"""The one text type for every string the API accepts, in bodies, queries and paths.

PostgreSQL cannot store NUL in text (asyncpg fails with "invalid byte sequence"), and
other control characters in a name or a search are never meant. So `Text` refuses every
control character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F), and
`MultilineText` allows only tab, line feed and carriage return among them. (A lone
surrogate, which cannot be encoded to UTF-8, pydantic refuses for any `str`.) Both are
`pattern` constraints on the string itself, so that they compose with
`StringConstraints`, `Field`, `Query()` and `Path()` (length limits, stripping) and
appear in the OpenAPI schema, where clients and schemathesis read them. `errors.py`
renders a mismatch as "must not contain control characters", with the field's location,
in the usual 422 problem.

Use them as the base of every string input: `Annotated[Text, StringConstraints(...)]`,
`Annotated[Text | None, Query(max_length=...)]`. `tests/core/test_text_everywhere.py`
fails on a request string that is declared without one of them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# One expression for pydantic's Rust regex engine, Python's `re` and ECMA-262 (the
# dialect of OpenAPI's `pattern`): all three read `\xHH`.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
CONTROL_CHARACTER_PATTERNS = frozenset({SINGLE_LINE_PATTERN, MULTI_LINE_PATTERN})

Text = Annotated[str, StringConstraints(pattern=SINGLE_LINE_PATTERN)]
"""One line of text: names, codes, search words, filters, references."""

MultilineText = Annotated[str, StringConstraints(pattern=MULTI_LINE_PATTERN)]
"""Free text that may hold tabs and line breaks: descriptions, notes, message bodies."""

Line = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1)]
"""A required line, surrounding whitespace stripped (blank is missing): names, codes,
address lines. Give it its length where it is used:
`Annotated[Line, StringConstraints(max_length=200)]`."""

Reason = Annotated[
    MultilineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
"""Why a decision was taken (a rejected verification, a blocked product): required,
stripped, a few paragraphs at most."""
