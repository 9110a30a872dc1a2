"""Streaming imports of spreadsheet exports (contacts, applications)."""
