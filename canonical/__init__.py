"""Canonical vocabularies the mesh ships (generated from proto/canonical)."""
