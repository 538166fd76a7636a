"""inspect_token: what igtui knows about an account's token, and (with verify) what Meta says now.

Without `verify` nothing leaves the machine and the store need not be unlocked: the report is
built from the account row. With `verify` the token is decrypted and asked about: Instagram Login
has no introspection endpoint, so a cheap `/me` probe stands in; Facebook Login tokens go through
`debug_token`. A dead token is written down (status NEEDS_RELOGIN, the reason in words) so that
`status`, the TUI and the refresh engine agree with what was just learned.

Every store call runs in a worker thread (`asyncio.to_thread`): recording the answer waits for
SQLite's write lock, which another process may hold, and the TUI's event loop must not freeze.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from igtui.core.clock import Clock, SystemClock, iso
from igtui.core.errors import AppBlocked, NotFound, ReloginRequired
from igtui.core.models import Account, AccountStatus, App, TokenKind
from igtui.core.refresh.policy import refreshable_after

if TYPE_CHECKING:
    from igtui.core.graph.client import GraphClient
    from igtui.core.secret import Secret
    from igtui.core.store import Store


@dataclass(frozen=True, slots=True)
class TokenReport:
    """One account's token, described without the token itself.

    `verified` says whether this report includes a fresh answer from Meta; the `last_verify_*`
    fields are whatever the store last recorded (possibly from this very call).
    """

    account: str
    app: str
    platform: str
    username: str
    ig_user_id: str
    app_scoped_id: str | None
    page_id: str | None
    kind: TokenKind
    scopes: tuple[str, ...]
    granular_scopes: tuple[tuple[str, tuple[str, ...]], ...]
    requested_scopes: tuple[str, ...]
    issued_at: datetime | None
    expires_at: datetime | None
    expires_known: bool
    refreshable_after: datetime | None
    data_access_expires_at: datetime | None
    status: str
    status_reason: str | None
    last_verified_at: datetime | None
    last_verify_ok: bool | None
    last_verify_message: str | None
    verified: bool = False

    def to_json(self) -> dict[str, Any]:
        """The stable `token inspect --json` object (field names are documented; never a token)."""
        return {
            "account": self.account,
            "app": self.app,
            "platform": self.platform,
            "username": self.username,
            "ig_user_id": self.ig_user_id,
            "app_scoped_id": self.app_scoped_id,
            "page_id": self.page_id,
            "kind": str(self.kind),
            "scopes": list(self.scopes),
            "granular_scopes": [{"scope": s, "target_ids": list(t)} for s, t in self.granular_scopes],
            "requested_scopes": list(self.requested_scopes),
            "issued_at": iso(self.issued_at),
            "expires_at": iso(self.expires_at),
            "expires_known": self.expires_known,
            "never_expires": self.expires_known and self.expires_at is None,
            "refreshable_after": iso(self.refreshable_after),
            "data_access_expires_at": iso(self.data_access_expires_at),
            "status": self.status,
            "status_reason": self.status_reason,
            "verified": self.verified,
            "last_verified_at": iso(self.last_verified_at),
            "last_verify_ok": self.last_verify_ok,
            "last_verify_message": self.last_verify_message,
        }


def report_for(account: Account, *, verified: bool = False) -> TokenReport:
    """The report for a stored account (no I/O)."""
    return TokenReport(
        account=account.ref,
        app=account.app_name,
        platform=account.platform,
        username=account.username,
        ig_user_id=account.ig_user_id,
        app_scoped_id=account.app_scoped_id,
        page_id=account.page_id,
        kind=account.token_kind,
        scopes=tuple(account.scopes),
        granular_scopes=tuple(account.granular_scopes),
        requested_scopes=tuple(account.requested_scopes),
        issued_at=account.issued_at,
        expires_at=account.expires_at,
        expires_known=account.expires_known,
        refreshable_after=refreshable_after(account),
        data_access_expires_at=account.data_access_expires_at,
        status=str(account.status),
        status_reason=account.status_reason,
        last_verified_at=account.last_verified_at,
        last_verify_ok=account.last_verify_ok,
        last_verify_message=account.last_verify_message,
        verified=verified,
    )


async def inspect_token(
    store: Store, client: GraphClient | None, account_ref: str, *, verify: bool, clock: Clock | None = None
) -> TokenReport:
    """Describe an account's token; with `verify`, ask Meta and record the answer.

    Raises:
        NotFound / UsageError: no such account, or an ambiguous reference.
        ReloginRequired: (verify) the token is dead; the store now says so. The exception carries
            the updated report as `.report`.
        RateLimited, NetworkError, ApiError: (verify) Meta could not be asked; nothing is recorded.
    """
    account = await asyncio.to_thread(store.get_account, account_ref)
    if not verify:
        return report_for(account)
    if client is None:
        raise ValueError("verify needs a GraphClient")
    from igtui.core.graph.api import MetaApi

    now = (clock or SystemClock()).now()

    def credentials() -> tuple[App, Secret, Secret | None]:
        app = store.get_app(account.app_name)
        secret = store.app_secret(app.name) if account.platform == "facebook" else None
        return app, store.account_token(account.id), secret

    app, token, secret = await asyncio.to_thread(credentials)
    api = MetaApi(client, app)
    try:
        if account.platform == "facebook":
            from igtui.core.graph.errors import build_error

            assert secret is not None  # credentials() reads the app secret for a Facebook account
            info = await api.debug_token(token=token, secret=secret, account=account.ref)
            if not info.is_valid:
                error = build_error(status=None, code=info.error_code or 190, subcode=info.error_subcode,
                                    meta_message=info.error_message)
                if not isinstance(error, ReloginRequired | AppBlocked):
                    error = ReloginRequired(f"Meta says the token is not valid ({error}): log in again")
                raise error
            updated = await asyncio.to_thread(
                store.update_account_state,
                account.id, last_verified_at=now, last_verify_ok=True, last_verify_message="valid (debug_token)",
                expires_at=None if info.never_expires else (info.expires_at or account.expires_at),
                expires_known=bool(info.never_expires or info.expires_at or account.expires_known),
                data_access_expires_at=info.data_access_expires_at or account.data_access_expires_at,
                scopes=tuple(info.scopes) or account.scopes,
                granular_scopes=tuple(info.granular_scopes) or account.granular_scopes,
            )
        else:
            await api.me(token=token, account=account.ref)
            updated = await asyncio.to_thread(
                store.update_account_state,
                account.id, last_verified_at=now, last_verify_ok=True, last_verify_message="valid (/me answered)"
            )
    except AppBlocked as exc:
        # Meta acted on the app, not on this token: the app carries it (status, TUI, notices).
        await asyncio.to_thread(store.set_app_blocked, app.name, kind=exc.kind, reason=exc.message)
        raise
    except ReloginRequired as exc:
        reason = exc.message
        updated = await asyncio.to_thread(
            store.update_account_state,
            account.id, status=AccountStatus.NEEDS_RELOGIN, status_reason=reason,
            last_verified_at=now, last_verify_ok=False, last_verify_message=reason,
        )
        exc.report = report_for(_recorded(updated, account), verified=True)
        raise
    if app.blocked_kind is not None:  # a call for the app worked again: the block is over
        await asyncio.to_thread(store.clear_app_blocked, app.name)
    return report_for(_recorded(updated, account), verified=True)


def _recorded(updated: Account | None, account: Account) -> Account:
    """The account as `update_account_state` wrote it. That returns None only for a compare-and-swap
    (`expected_generation`), which these updates do not ask for; a gone account raises NotFound there."""
    if updated is None:
        raise NotFound(f"account {account.ref} changed while it was being verified; run the command again")
    return updated


__all__ = ["TokenReport", "inspect_token", "report_for"]
