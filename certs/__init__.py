"""Tsunagi's PKI: SPIFFE IDs, the mesh CA, peer verification and identity files."""
