"""Landing patches on the target: the integrator, its queue, candidates, gates, recovery, rollback, hooks."""
