"""Anonymised evidence summaries, disclosure control and de-identified narratives."""
