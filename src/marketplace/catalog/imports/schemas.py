"""The bodies of the import and export: the catalog CSV format (`CSV_FORMAT`), shared by
both, and what the import endpoints answer (an import job with its progress and counts,
`ImportJobRead`)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

# Also the import route's documentation of the file (OpenAPI).
CSV_FORMAT: Final = """The catalog CSV format, shared by import and export: columns, cells, dialect.

One row per product, identified by `sku`. The first line names the columns (any
order, case-insensitive). `sku`, `name`, `unit`, `currency` and `tiers` are
required; every other column is optional, and a column left out of the file keeps
an existing product's value (a new product gets the default).

| column | content | example |
| --- | --- | --- |
| sku | the supplier's article number, unique per supplier | `BOLT-M8-40` |
| name | product name | `Hex bolt M8x40` |
| description | free text (may span lines inside quotes) | |
| category | category slug; empty for none | `fasteners` |
| unit | `piece`, `kg`, `m`, `l`, `box`, `pallet`, ... | `piece` |
| currency | ISO 4217 code | `EUR` |
| moq | minimum order quantity; default 1 | `100` |
| order_multiple | pack size (orders in multiples of it); empty for none | `50` |
| stock | stock on hand; default 0 | `12000` |
| lead_time_days | whole days; default 0 | `5` |
| status | `draft`, `active` or `archived`; default `draft` | `active` |
| tiers | price tiers `min_qty:unit_price`, joined by `\\|`, ascending | `1:0.25\\|1000:0.19` |
| attributes | JSON object of key -> value | `{"material":"steel"}` |
| parent_sku | SKU of the family head when the product is a variant; empty for none | `SHIRT` |

A variant names its family head by SKU: one of the supplier's own products that is
no variant itself, stored already or on an earlier row of the same file. Export
writes family heads and single products first, then variants, so that its file
imports into an empty catalog too.

Numbers use a decimal point (`12.50`), never a comma. The file is UTF-8, with or
without a byte order mark; the separator is `,` or `;` (detected from the header).

Spreadsheet formulas: on export every text cell that a spreadsheet would run as a
formula (first character `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with
an apostrophe; import removes exactly that prefix again, so exported files round-trip.
"""

COLUMNS: Final = (
    "sku",
    "name",
    "description",
    "category",
    "unit",
    "currency",
    "moq",
    "order_multiple",
    "stock",
    "lead_time_days",
    "status",
    "tiers",
    "attributes",
    "parent_sku",
)
REQUIRED_COLUMNS: Final = frozenset({"sku", "name", "unit", "currency", "tiers"})
SEPARATORS: Final = (",", ";")
TIER_SEPARATOR: Final = "|"
TIER_PAIR_SEPARATOR: Final = ":"
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_TRIGGERS: Final = frozenset("=+-@\t\r")
FORMULA_GUARD: Final = "'"
# csv's own limit is 128 KiB a field; a description is far below that, and a larger
# "cell" means a file that is not what it claims to be.
MAX_CELL_CHARACTERS: Final = 100_000

csv.field_size_limit(MAX_CELL_CHARACTERS)


class FileError(ValueError):
    """The file as a whole cannot be imported; nothing of it is applied."""


class EmptyFile(FileError):
    pass


class BinaryFile(FileError):
    pass


class NotUtf8(FileError):
    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(f"not UTF-8 (line {line})")


class BrokenCsv(FileError):
    def __init__(self, row: int, reason: str) -> None:
        self.row = row
        self.reason = reason
        super().__init__(f"row {row}: {reason}")


class NoDataRows(FileError):
    pass


class HeaderError(FileError):
    """The header is not a valid catalog header: missing, unknown or repeated columns."""

    def __init__(
        self,
        *,
        missing: Sequence[str] = (),
        unknown: Sequence[str] = (),
        duplicate: Sequence[str] = (),
    ) -> None:
        self.missing = list(missing)
        self.unknown = list(unknown)
        self.duplicate = list(duplicate)
        super().__init__(
            f"missing={self.missing} unknown={self.unknown} duplicate={self.duplicate}"
        )


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the supplier as is."""


@dataclass(frozen=True)
class Header:
    separator: str
    columns: tuple[str, ...]  # in file order

    def index(self) -> dict[str, int]:
        return {column: position for position, column in enumerate(self.columns)}


@dataclass(frozen=True)
class Record:
    """One data row: its spreadsheet row number (the header is row 1) and its cells by
    column, present columns only, with whitespace trimmed and formula guards removed."""

    row_number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class MalformedRecord:
    """A data row whose cell count does not match the header."""

    row_number: int
    found: int
    expected: int


def _normalise_column(name: str) -> str:
    return name.strip().lower()


def parse_header(fields: Sequence[str], separator: str) -> Header:
    columns = [_normalise_column(field) for field in fields]
    # A trailing separator in the header produces one empty name: tolerated.
    while columns and columns[-1] == "":
        columns.pop()
    known = set(COLUMNS)
    unknown = [column or "(empty)" for column in columns if column not in known]
    seen: set[str] = set()
    duplicate: set[str] = set()
    for column in columns:
        (duplicate if column in seen else seen).add(column)
    missing = [column for column in COLUMNS if column in REQUIRED_COLUMNS and column not in seen]
    if unknown or duplicate or missing:
        raise HeaderError(missing=missing, unknown=unknown, duplicate=sorted(duplicate))
    return Header(separator=separator, columns=tuple(columns))


def detect_header(first_line: str) -> Header:
    """Pick the separator under which the first line is a valid header.

    Header inspection rather than `csv.Sniffer`: the column names are known, so the
    separator that yields them is certain, where a sniffer guesses from character
    counts (and a header line has too few characters for that)."""
    errors: list[tuple[int, HeaderError]] = []
    for separator in SEPARATORS:
        fields = next(csv.reader([first_line], delimiter=separator), [])
        try:
            return parse_header(fields, separator)
        except HeaderError as error:
            recognised = sum(_normalise_column(field) in COLUMNS for field in fields)
            errors.append((recognised, error))
    # Report the reading that recognised the most columns (the first on a tie).
    raise max(errors, key=lambda candidate: candidate[0])[1]


def guard_formula(value: str) -> str:
    """Export: make a cell inert for spreadsheets (`=1+1` -> `'=1+1`)."""
    return FORMULA_GUARD + value if _is_guarded_form(value) else value


def unguard_formula(value: str) -> str:
    """Import: undo `guard_formula` exactly, leaving every other apostrophe alone."""
    if value.startswith(FORMULA_GUARD) and _is_guarded_form(value[1:]):
        return value[1:]
    return value


def _is_guarded_form(value: str) -> bool:
    # A value that starts with a trigger, or with apostrophes before one ("'=x"):
    # guarding those too keeps guard/unguard an exact inverse pair.
    stripped = value.lstrip(FORMULA_GUARD)
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def iter_records(lines: Iterable[str], header: Header) -> Iterator[Record | MalformedRecord]:
    """The data rows after the header line, blank rows skipped (but counted, so that
    row numbers match what a spreadsheet shows).

    `lines` starts at the header. Raises `BrokenCsv` on a structural fault, such as a
    quote that is never closed."""
    reader = csv.reader(lines, delimiter=header.separator, strict=True)
    width = len(header.columns)
    row_number = 0
    while True:
        row_number += 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise BrokenCsv(row=row_number, reason=str(error)) from error
        if row_number == 1:
            continue  # the header
        if all(not field.strip() for field in fields):
            continue
        # Trailing empty cells beyond the header (a trailing separator) are harmless.
        while len(fields) > width and not fields[-1].strip():
            fields.pop()
        if len(fields) != width:
            yield MalformedRecord(row_number=row_number, found=len(fields), expected=width)
            continue
        yield Record(
            row_number=row_number,
            cells={
                column: _cell(column, value)
                for column, value in zip(header.columns, fields, strict=True)
            },
        )


def _cell(column: str, value: str) -> str:
    # Stray spaces around a value are a spreadsheet accident; a description keeps its
    # text exactly (it may be meant to start or end with a line break).
    if column != "description":
        value = value.strip()
    return unguard_formula(value)


# --- whole files -----------------------------------------------------------------------


@dataclass(frozen=True)
class FileSummary:
    header: Header
    data_rows: int


def open_text(data: bytes) -> io.TextIOWrapper:
    """The file as text lines for `csv`: UTF-8, a leading BOM dropped, line ends kept."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


def read_header(lines: io.TextIOWrapper) -> Header:
    """Detect the header on the first line, then rewind to the start of the file."""
    first_line = lines.readline()
    lines.seek(0)
    return detect_header(first_line.rstrip("\r\n"))


def inspect_file(data: bytes) -> FileSummary:
    """Everything that makes a file unimportable as a whole, found before anything is
    written: empty, binary, not UTF-8, broken CSV, wrong header, no data rows.

    CPU-bound (it reads every row): call it in a thread for large files."""
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise EmptyFile("empty")
    if b"\x00" in data:
        raise BinaryFile("binary")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotUtf8(line=data.count(b"\n", 0, error.start) + 1) from error
    lines = open_text(data)
    header = read_header(lines)
    count = sum(1 for _record in iter_records(lines, header))
    if count == 0:
        raise NoDataRows("no data rows")
    return FileSummary(header=header, data_rows=count)


# --- cells ---------------------------------------------------------------------------


def parse_decimal(value: str) -> Decimal:
    if "," in value:
        raise CellError(f"{value!r} is not a number: use a decimal point, not a comma")
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise CellError(f"{value!r} is not a number") from error
    if not number.is_finite():
        raise CellError(f"{value!r} is not a number")
    return number


def parse_tiers(value: str) -> list[tuple[Decimal, Decimal]]:
    """`1:12.50|100:11.00` -> [(1, 12.50), (100, 11.00)]. Order and values are checked
    by the product rules, not here."""
    if not value:
        raise CellError("at least one price tier is required, e.g. 1:12.50|100:11.00")
    tiers = []
    for part in value.split(TIER_SEPARATOR):
        pieces = part.split(TIER_PAIR_SEPARATOR)
        if len(pieces) != 2 or not pieces[0].strip() or not pieces[1].strip():
            raise CellError(
                f"{part.strip()!r} is not a tier: write min_qty:unit_price, e.g. 1:12.50|100:11.00"
            )
        tiers.append((parse_decimal(pieces[0].strip()), parse_decimal(pieces[1].strip())))
    return tiers


def parse_attributes(value: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        attributes = json.loads(value)
    except ValueError as error:
        raise CellError(
            'attributes must be a JSON object, e.g. {"material": "steel", "length_mm": 40}'
        ) from error
    if not isinstance(attributes, dict):
        raise CellError(
            'attributes must be a JSON object, e.g. {"material": "steel", "length_mm": 40}'
        )
    return attributes


def format_decimal(value: Decimal, *, minimum_places: int = 0) -> str:
    """12.5000 -> "12.5" (or "12.50" with two places at least); 100.000 -> "100"."""
    text = format(value.normalize(), "f")
    if minimum_places:
        whole, _, fraction = text.partition(".")
        text = f"{whole}.{fraction.ljust(minimum_places, '0')}"
    return text


def format_tiers(tiers: Iterable[tuple[Decimal, Decimal]]) -> str:
    return TIER_SEPARATOR.join(
        f"{format_decimal(min_qty)}{TIER_PAIR_SEPARATOR}{format_decimal(price, minimum_places=2)}"
        for min_qty, price in tiers
    )


def format_attributes(attributes: Mapping[str, Any]) -> str:
    if not attributes:
        return ""
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class CsvWriter:
    """Renders rows of the export; each call returns the encoded text of its rows."""

    def __init__(self, separator: str = ",") -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=separator, lineterminator="\r\n")

    def rows(self, rows: Iterable[Sequence[str]]) -> bytes:
        for row in rows:
            self._writer.writerow([guard_formula(cell) for cell in row])
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")


# --- what the import endpoints answer -------------------------------------------


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportProgress(BaseModel):
    rows_done: int = Field(description="Data rows processed so far (applied or failed).")
    rows_total: int = Field(description="Data rows in the file (blank rows not counted).")
    percent: int = Field(ge=0, le=100)


class ImportCounts(BaseModel):
    created: int = Field(description="Rows that created a product.")
    updated: int = Field(description="Rows that changed an existing product.")
    unchanged: int = Field(description="Rows identical to the product already stored.")
    failed: int = Field(description="Rows rejected; see the error report.")


class ImportJobRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0b6c6f8e-8d0c-4a53-9b7e-5d0f2d1c9a11",
                "status": "running",
                "filename": "catalog.csv",
                "progress": {"rows_done": 1500, "rows_total": 4000, "percent": 37},
                "counts": {"created": 900, "updated": 580, "unchanged": 0, "failed": 20},
                "error": None,
                "created_at": "2026-11-25T10:00:00Z",
                "started_at": "2026-11-25T10:00:01Z",
                "finished_at": None,
                "errors_url": (
                    "/api/v1/products/import/0b6c6f8e-8d0c-4a53-9b7e-5d0f2d1c9a11/errors.csv"
                ),
            }
        }
    )

    id: uuid.UUID
    status: ImportStatus
    filename: str
    progress: ImportProgress
    counts: ImportCounts
    error: str | None = Field(description="Why the job failed, when it did.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors_url: str = Field(description="The per-row error report (CSV: row, column, message).")
