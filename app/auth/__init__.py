"""Users, sessions, passwords, roles and permissions, sign-in pages."""
