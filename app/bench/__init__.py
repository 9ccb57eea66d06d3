"""Hand finishing at the bench: standards per product kind, bench records, the QC time gate."""
