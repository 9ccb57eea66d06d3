"""Provenance passports: append-only, hash-chained histories with public pages and QR codes."""
