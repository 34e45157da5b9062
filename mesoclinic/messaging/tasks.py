"""Background tasks that deliver the outbox (run by `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from . import delivery


@task()
def deliver_message(message_id: int) -> str:
    """Send one message when it is due. Safe to run twice or in two workers: the claim decides."""
    delivery.arm_sweeper()  # a worker that died mid-sweep broke the chain: this restarts it
    return delivery.deliver(message_id)


@task()
def sweep_outbox(scheduled_for: str = "") -> dict[str, int]:
    """The safety net: send due and stale messages, then schedule the next sweep while work remains."""
    result = delivery.sweep()
    delivery.rearm_after_sweep(scheduled_for)
    return {"sent": result.sent, "retry": result.retry, "failed": result.failed}
