"""Tests of medico-legal reports and letters."""
