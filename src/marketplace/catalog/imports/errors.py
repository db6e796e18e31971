"""Why a catalog file is refused as a whole, and the other import failures."""

from __future__ import annotations

from marketplace.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from marketplace.core.i18n import _


class ImportFileTooLarge(PayloadTooLarge):
    code = "import-too-large"
    message = _("The file is larger than the import limit of {limit} bytes.")


class ImportFileEmpty(ValidationFailed):
    code = "import-empty"
    message = _("The file is empty.")


class ImportFileNotText(ValidationFailed):
    code = "import-not-csv"
    message = _("The file is not a CSV text file. Save it as 'CSV UTF-8' and upload it again.")


class ImportFileNotUtf8(ValidationFailed):
    code = "import-not-utf8"
    message = _(
        "The file is not UTF-8 encoded (line {line}). Save it as 'CSV UTF-8' and upload it again."
    )


class ImportFileBrokenCsv(ValidationFailed):
    code = "import-broken-csv"
    message = _("The file is not valid CSV (row {row}): nothing was imported.")


class ImportHeaderInvalid(ValidationFailed):
    code = "import-header"
    message = _(
        "The first row must name the catalog columns; nothing was imported. "
        "Required: {required}. Optional: {optional}."
    )


class ImportFileHasNoRows(ValidationFailed):
    code = "import-no-rows"
    message = _("The file has a header row but no product rows.")


class ImportJobNotFound(NotFound):
    message = _("The import job does not exist.")
