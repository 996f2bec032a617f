"""Generated from proto/mesh/v1 (run `make proto`; committed, CI fails when stale)."""
