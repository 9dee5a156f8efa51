"""Pipelines: YAML config → stages; shard tasks; ledger and stats; the run driver."""
