"""Command implementations that print progress for the CLI (the core itself never prints)."""

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """A user-facing input problem detected by the CLI itself (exit code 2)."""
