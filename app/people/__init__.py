"""People (cases), their identity details and clinician assignments."""
