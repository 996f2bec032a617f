"""The Tsunagi control plane and its CLI, meshctl."""
