"""Clinical visits, their sign-off and addenda."""
