"""Generated from proto/canonical/gif/v1 (run `make proto`; committed, CI fails when stale)."""
