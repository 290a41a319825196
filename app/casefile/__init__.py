"""The whole record of one person: the person page and its sections, the timeline, subject access, erasure."""
