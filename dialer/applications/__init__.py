"""Passport applications (import, search, edit) and the campaign contacts built on them."""
