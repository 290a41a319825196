"""Consent by purpose, with withdrawal that takes effect everywhere at once."""
