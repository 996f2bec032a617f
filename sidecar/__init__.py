"""The Tsunagi sidecar: the data plane next to each agency system."""
