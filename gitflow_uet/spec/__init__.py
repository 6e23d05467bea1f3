"""Documents the user writes: workstream specs, the config, the plan of waves, scope globs."""
