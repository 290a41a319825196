"""Spreadsheet import: bringing a caseload kept in CSV or XLSX files into the record, and undoing it."""
