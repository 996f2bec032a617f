"""Shared core of the Tsunagi mesh: config model, store, translation, policy, audit."""
