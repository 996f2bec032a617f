"""Deployment artefacts (Dockerfile, Kubernetes manifests) and the offline tools that check them."""
