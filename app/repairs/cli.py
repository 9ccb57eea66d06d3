"""Repairs' periodic work (registered with the scheduler in the app factory)."""

from __future__ import annotations

from app.common.scheduling import ScheduledJob
from app.repairs import services

# A card refund left pending (the process died, or saving Stripe's answer failed) is asked of
# Stripe again with its own idempotency key and settled once.
settle_refunds_job = ScheduledJob(
    name="settle-repair-refunds", every_seconds=5 * 60, run=services.settle_pending_refunds
)
scheduled_jobs = [settle_refunds_job]
