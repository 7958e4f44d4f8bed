"""Selftests of the reference server: real HTTP against live instances."""
