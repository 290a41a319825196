"""Medico-legal reports and letters: instruction, peer review, sealed sign-off, letters from templates."""
