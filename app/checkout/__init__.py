"""Cart, checkout, piece reservation, payments (manual and Stripe), orders, invoices, emails."""
