"""Alert rules, the SQL that finds who they fire for, and the kept alert flags."""
