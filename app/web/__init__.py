"""Shared web plumbing: templating, forms, CSRF, security headers, flash messages, errors."""
