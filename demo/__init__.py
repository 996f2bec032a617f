"""Sample agency systems for the demo and the end-to-end tests."""
