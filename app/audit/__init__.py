"""Append-only audit trail and revision history."""
