"""CSV import and export of a supplier's catalog: jobs run in batches beside requests."""
