"""Returns within the window: the buyer's request, the atelier's authorisation, arrival,
inspection and refund, and what becomes of the returned piece (recorded on its passport)."""
