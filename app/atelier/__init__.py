"""Artisan profiles: the public /atelier pages and the staff page that edits them."""
