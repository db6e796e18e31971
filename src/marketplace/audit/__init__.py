"""The audit log: an append-only record of every audited event, written by the
"audit" consumer from the event stream."""
