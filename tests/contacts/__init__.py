"""Tests of the contacts domain: the register of legal representatives and who acts for a person."""
