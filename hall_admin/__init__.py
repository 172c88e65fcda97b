"""hall_admin package."""
