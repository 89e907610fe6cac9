"""User Buy List services."""
