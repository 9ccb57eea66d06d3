"""What every feature shares: transactions, signed links, references, locks, mail, uploads."""
