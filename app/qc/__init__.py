"""Quality control shared by production (staff) and repairs: checks, the four-eyes rule."""
