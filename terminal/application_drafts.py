"""When an application's personal data leaves the kiosk's disk (terminal/application_store.py
keeps it, encrypted, while the citizen fills the form in):

- its fee paid (the session DONE with money taken): central has confirmed it, the draft goes;
- cancelled or timed out: if it was already sent, it is withdrawn at central (its fee was never
  taken, so nothing of it is kept there either), then the draft goes;
- found after a restart (a power cut mid-application): the citizen is gone. Not sent: removed.
  Sent, and the journal shows money taken for its session: the money recovery posts the fee,
  which confirms it at central; removed. Sent, no money: withdrawn at central, then removed; a
  central that cannot be reached now is asked again later (the draft waits, encrypted).

That is what makes an application count at central exactly once across any crash: the one
whose fee is paid stays; every other copy is withdrawn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from terminal.application_store import ApplicationStore, Draft
from terminal.central import CentralError
from terminal.logs import log_event

log = logging.getLogger("kiosk")

MONEY_KINDS = ("credit", "note_stacking", "card_authorised", "settled", "voucher_redeemed")
RETRY_S = 30.0


class WithdrawCentral(Protocol):
    async def withdraw_application(self, request_id: str) -> bool: ...


class ApplicationDrafts:
    def __init__(self, store: ApplicationStore, central: WithdrawCentral,
                 money_taken: Callable[[str], bool]) -> None:
        self.store = store
        self.central = central
        self.money_taken = money_taken  # session id -> did the journal take money for it
        self.tasks: set[asyncio.Task] = set()

    def save(self, draft: Draft) -> None:
        self.store.save(draft)

    def finished(self, draft: Draft, paid: bool) -> None:
        """The application's session is over (paid, cancelled, timed out)."""
        if paid or not draft.sent:
            self.store.delete(draft.session_id)
            log_event(log, "application draft removed", session=draft.session_id,
                      confirmed=paid)
            return
        task = asyncio.get_running_loop().create_task(self._withdraw(draft, retry=False))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def recover(self) -> None:
        """At start: resolve every draft a crash left, until none is left. Read from disk once:
        a citizen may start a new application while central is still being asked."""
        pending = []
        for draft in await asyncio.to_thread(self.store.load_all):
            if not draft.sent or self.money_taken(draft.session_id):
                self.store.delete(draft.session_id)
                log_event(log, "application draft removed after restart",
                          session=draft.session_id, sent=draft.sent)
            else:
                pending.append(draft)
        while pending:
            pending = [d for d in pending if not await self._withdraw(d, retry=True)]
            if pending:
                await asyncio.sleep(RETRY_S)

    async def _withdraw(self, draft: Draft, *, retry: bool) -> bool:
        try:
            held = await self.central.withdraw_application(draft.session_id)
        except CentralError as exc:
            if exc.retryable and retry:
                log_event(log, "application withdrawal waits for central", logging.WARNING,
                          session=draft.session_id)
                return False
            # 409: paid after all (confirmed), or a cancelled one central cannot be told of
            # now: an unpaid application at central is never acted on; the data here goes.
            log_event(log, "application not withdrawn", logging.WARNING,
                      session=draft.session_id, status=exc.status)
        else:
            log_event(log, "application withdrawn", session=draft.session_id, held=held)
        self.store.delete(draft.session_id)
        return True
