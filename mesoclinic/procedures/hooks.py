"""What other apps do when a session is signed, without this app importing them.

An app (aftercare, for one) registers a hook in its `AppConfig.ready()`:

    from mesoclinic.procedures.hooks import register_sign_off_hook

    register_sign_off_hook("aftercare", compose_aftercare_for)   # compose_aftercare_for(*, ctx, record)

`sign_procedure` calls every hook, in key order, INSIDE its transaction, after the record is
signed, the stock taken, the appointment completed and the course windows recomputed. So:

- a hook sees `record.status == "signed"` and may read the record's rows (treatments, products,
  lots, reactions) through `procedures.selectors.signed_record_detail(record)`;
- a hook writes its own rows in the same transaction: if it raises, the sign-off is rolled back
  as a whole (nothing signed, no stock moved) and the error reaches the caller — so hooks must
  raise only for something that must stop a sign-off;
- a hook sends e-mails, SMS or tasks with `transaction.on_commit`, never directly.

A plain, explicit registry (like `core.panels`), not Django signals: the call order is the key
order, and `registered_sign_off_hooks()` lists what will run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mesoclinic.core.audit import AuditContext

    from .models import ProcedureRecord


class SignOffHook(Protocol):
    def __call__(self, *, ctx: AuditContext, record: ProcedureRecord) -> None: ...


_hooks: dict[str, SignOffHook] = {}


def register_sign_off_hook(key: str, hook: SignOffHook) -> None:
    """Register (or replace) the hook named `key`."""
    _hooks[key] = hook


def unregister_sign_off_hook(key: str) -> None:
    _hooks.pop(key, None)


def registered_sign_off_hooks() -> list[tuple[str, SignOffHook]]:
    return sorted(_hooks.items())


def run_sign_off_hooks(*, ctx: AuditContext, record: ProcedureRecord) -> None:
    for _key, hook in registered_sign_off_hooks():
        hook(ctx=ctx, record=record)
