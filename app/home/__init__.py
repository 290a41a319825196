"""The home page of each role: the caseload dashboard, and the break-glass reviews waiting."""
