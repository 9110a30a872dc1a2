"""Persistence: the schema (models), engine/session factory, and migrations runner."""
