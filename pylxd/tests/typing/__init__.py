"""Files checked by mypy in :mod:`pylxd.tests.test_typing` (not run)."""
