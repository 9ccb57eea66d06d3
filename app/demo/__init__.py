"""The demo atelier: procedural artwork and the seed-demo command (not used by the shop itself)."""
