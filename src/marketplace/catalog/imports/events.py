"""Events of the CSV import: import rows are not announced one by one; a finished
import job is one `product.imported` with its counts, to the supplier alone."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent


class ProductsImported(DomainEvent):
    """An import job ended (`completed`, or `failed` after the counted rows)."""

    type: ClassVar[str] = "product.imported"
    aggregate_type: ClassVar[str] = "import_job"
    job_id: uuid.UUID
    supplier_id: uuid.UUID
    status: str
    filename: str
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    failed: int

    def aggregate_id(self) -> uuid.UUID:
        return self.job_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.supplier_id]
