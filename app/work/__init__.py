"""Daily work: case notes (the contact log), tasks, the work queue, and reminders by e-mail."""
