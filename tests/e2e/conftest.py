"""Fixtures for end-to-end tests: real sidecar subprocesses around an in-process app."""
