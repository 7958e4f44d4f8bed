"""Selftests of the conformance harness (config, client, TOTP, expectations, plugin, traceability)."""
