"""Public catalog search: full text with typo tolerance, filters, facets, keyset pages."""
