"""The staff dashboard: what needs attention today, across production, repairs and bookings."""
