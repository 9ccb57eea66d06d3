"""Repairs: tickets from owners and walk-ins, quotes accepted online, provenance entries."""
