"""Read-only views of the ledger: status, log, show, report, fsck."""
