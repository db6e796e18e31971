"""The invoice as a PDF, drawn with fpdf2 from plain values (no database, no I/O
besides reading a font): CPU work that callers run in a worker thread.

Text is set in DejaVu Sans when the system has it (Latin, Greek, Cyrillic: every
European company name); otherwise in the PDF core font Helvetica, which covers
Latin-1 only, so other characters are shown as "?" rather than failing the invoice.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from marketplace.trade.invoices.document import InvoiceDocument, Party

FONT_DIRECTORIES = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu (fonts-dejavu-core)
    Path("/usr/share/fonts/dejavu"),  # Fedora, Alpine
    Path("/usr/share/fonts/TTF"),  # Arch
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
FAMILY = "invoice"


@cache
def _unicode_fonts() -> tuple[Path, Path] | None:
    for directory in FONT_DIRECTORIES:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


def quantity_text(quantity: Decimal) -> str:
    """120.000 -> "120", 2.500 -> "2.5"."""
    return f"{quantity.normalize():f}"


class _Invoice(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        fonts = _unicode_fonts()
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font(FAMILY, "", str(fonts[0]))
            self.add_font(FAMILY, "B", str(fonts[1]))
            self.family_name = FAMILY
        else:
            self.family_name = "helvetica"
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, *, bold: bool = False) -> None:
        self.set_font(self.family_name, "B" if bold else "", size)

    def line_of_text(self, value: str, *, size: float = 9, bold: bool = False) -> None:
        self.font(size, bold=bold)
        self.multi_cell(0, size * 0.5, self.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(7)
        text = self.footer_text.replace("{page}", str(self.page_no()))
        self.cell(0, 5, self.text_of(text), align=Align.C)


def _party_block(
    pdf: _Invoice,
    x: float,
    y: float,
    width: float,
    heading: str,
    party: Party,
    labels: dict[str, str],
) -> float:
    """One company's block at (x, y); returns where it ends."""
    rows: list[tuple[str, float, bool]] = [(heading, 8, True), (party.name, 10, True)]
    rows += [(line, 9, False) for line in party.address]
    rows += [
        (f"{labels['tax_id']}: {party.tax_id or '-'}", 8, False),
        (f"{labels['registration_number']}: {party.registration_number or '-'}", 8, False),
    ]
    pdf.set_xy(x, y)
    for text, size, bold in rows:
        pdf.set_x(x)
        pdf.font(size, bold=bold)
        pdf.multi_cell(width, size * 0.5, pdf.text_of(text), new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def render_invoice(document: InvoiceDocument) -> bytes:
    labels = document.labels
    pdf = _Invoice(document.footer)
    pdf.alias_nb_pages()
    pdf.set_title(f"{labels['invoice']} {document.invoice_number}")
    pdf.set_author(document.supplier.name)
    pdf.set_creator("b2b-marketplace")
    pdf.add_page()

    pdf.line_of_text(f"{labels['invoice']} {document.invoice_number}", size=18, bold=True)
    pdf.ln(2)
    facts = [
        (labels["invoice_number"], document.invoice_number),
        (labels["order_number"], document.order_number),
        (labels["issued_on"], document.issued_on.isoformat()),
    ]
    if document.po_number:
        facts.append((labels["po_number"], document.po_number))
    for caption, value in facts:
        pdf.line_of_text(f"{caption}: {value}")
    pdf.ln(4)

    gap = 8.0
    column = (pdf.epw - gap) / 2
    top = pdf.get_y()
    ends = [
        _party_block(pdf, pdf.l_margin, top, column, labels["supplier"], document.supplier, labels),
        _party_block(
            pdf, pdf.l_margin + column + gap, top, column, labels["buyer"], document.buyer, labels
        ),
    ]
    pdf.set_xy(pdf.l_margin, max(ends) + 6)

    if document.ship_to:
        pdf.line_of_text(labels["ship_to"], bold=True)
        pdf.line_of_text(", ".join(document.ship_to))
        pdf.ln(4)

    pdf.font(8)
    with pdf.table(
        col_widths=(22, 68, 22, 28, 28),
        text_align=(Align.L, Align.L, Align.R, Align.R, Align.R),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD"),
        line_height=5,
        padding=1,
    ) as table:
        table.row(
            [
                pdf.text_of(labels["sku"]),
                pdf.text_of(labels["description"]),
                pdf.text_of(labels["quantity"]),
                pdf.text_of(f"{labels['unit_price']} ({document.currency})"),
                pdf.text_of(f"{labels['line_total']} ({document.currency})"),
            ]
        )
        for line in document.lines:
            table.row(
                [
                    pdf.text_of(line.sku),
                    pdf.text_of(line.name),
                    pdf.text_of(f"{quantity_text(line.quantity)} {line.unit}"),
                    f"{line.unit_price:f}",
                    f"{line.line_total:f}",
                ]
            )
    pdf.ln(4)

    amount_due = document.total - document.amount_paid
    totals = [
        (labels["subtotal"], f"{document.subtotal:f} {document.currency}", False),
        (labels["total"], f"{document.total:f} {document.currency}", True),
        (labels["amount_paid"], f"{document.amount_paid:f} {document.currency}", False),
        (labels["amount_due"], f"{amount_due:f} {document.currency}", True),
    ]
    for caption, value, bold in totals:
        pdf.font(9, bold=bold)
        pdf.cell(130, 5.5, pdf.text_of(caption), align=Align.R)
        pdf.cell(0, 5.5, pdf.text_of(value), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    status = document.payment_status
    if document.is_overdue:
        status = f"{status} ({labels['overdue']})"
    for caption, value in (
        (labels["payment_terms"], document.payment_terms),
        (labels["due_date"], document.due_date.isoformat() if document.due_date else "-"),
        (labels["payment_status"], status),
        (labels["currency"], document.currency),
    ):
        pdf.line_of_text(f"{caption}: {value}")
    return bytes(pdf.output())
