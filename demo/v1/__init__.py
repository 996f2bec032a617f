"""Generated from proto/demo/v1."""
