"""Contacts: the legal representatives (firms and their caseworkers) that people and requests are linked to."""
