"""The JSON API under /api/v1: personal tokens, the same role permissions and need-to-know as the pages."""
