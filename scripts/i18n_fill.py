"""Maintainer helper: merge a {msgid: (de, fr, es)} table into the catalogs.

Usage: python scripts/i18n_fill.py TABLE.py  (TABLE.py defines T). New msgids come
from `pybabel extract`; see README "Translations".
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "src" / "marketplace" / "locales"
LANGUAGES = ("de", "fr", "es")


def main(table_path: str) -> None:
    table: dict[str, tuple[str, str, str]] = runpy.run_path(table_path)["T"]
    for index, language in enumerate(LANGUAGES):
        po_path = LOCALES / language / "LC_MESSAGES" / "messages.po"
        if po_path.exists():
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            po_path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="b2b-marketplace")
        for msgid, translations in table.items():
            catalog.add(msgid, translations[index])
        with po_path.open("wb") as handle:
            write_po(handle, catalog, omit_header=False, no_location=True, sort_output=True)


if __name__ == "__main__":
    main(sys.argv[1])
