"""The ledger in git: refs/uet's commit chain, the state machines, the record shapes, derived caches."""
