"""Bespoke consultations: real availability, scheduling back from the event, invites, reminders."""
