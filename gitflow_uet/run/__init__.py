"""Running workstreams: the runner, its workers, tasks, limits and the tool adapters."""
