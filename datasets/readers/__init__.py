"""Readers for real event datasets from local files (nothing is downloaded)."""
