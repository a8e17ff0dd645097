"""Integration tests against a real LXD daemon."""
