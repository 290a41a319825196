"""Medical evidence, findings, uploaded documents and Rule 35 records."""
