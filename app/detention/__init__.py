"""Facilities, detention episodes, placements (transfers) and the detention clock."""
