"""Intake: requests for help, their triage, and the public referral form for legal representatives."""
