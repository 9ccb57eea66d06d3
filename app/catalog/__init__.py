"""Catalog: products in the studio and custom tiers, edition runs and numbered pieces."""
