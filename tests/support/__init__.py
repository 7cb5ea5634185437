"""Helpers shared by the tests (fixtures' builders, drivers, corpora); not tests."""
