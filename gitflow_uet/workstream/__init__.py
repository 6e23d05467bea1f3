"""One workstream's life: start, submit, refresh, reset; the checks its patch must pass; quarantine."""
