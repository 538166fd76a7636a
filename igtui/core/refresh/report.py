"""Words for refresh outcomes, shared by every front end.

The CLI prints `event_line(event)` and the TUI shows the same line in its toast, so a user reads
the same sentence for the same decision whichever front end asked: the TUI obeys the CLI's rules,
with the same words. `force_outlook` says, before a forced refresh, what Meta will
most likely answer, so that forcing is a decision taken knowingly rather than a retry button.

Pure: no I/O, no clock (callers pass `now`), no Textual/Rich (igtui.core stays headless).
"""

from __future__ import annotations

from datetime import datetime

from igtui.core.clock import humanize_delta, iso
from igtui.core.models import Account, AccountStatus, Health, RefreshEvent, RefreshResult, TokenKind
from igtui.core.refresh import policy
from igtui.core.safetext import plain

CLI_FORCE_HINT = "use --force to ask Meta anyway"
"""The hint the engine appends to a too-early decision. It names the CLI's flag; other front ends
pass their own `force_hint` to `event_line` (the engine's words stay the CLI's until the hint
moves out of the engine)."""

LABELS: dict[RefreshResult, str] = {
    RefreshResult.REFRESHED: "refreshed",
    RefreshResult.SKIPPED: "skipped",
    RefreshResult.TOO_EARLY: "too early",
    RefreshResult.FAILED: "FAILED",
    RefreshResult.NEEDS_RELOGIN: "NEEDS RE-LOGIN",
    RefreshResult.RATE_LIMITED: "rate limited",
    RefreshResult.APP_BLOCKED: "APP BLOCKED",
}
"""The first word of a line; upper case where a human must act (cron mails are skimmed)."""

LINE_LIMIT = 1000
"""Characters of a line at most: the message may carry Meta's text, which is not ours to bound."""


def event_line(event: RefreshEvent, *, force_hint: str | None = None) -> str:
    """One line for one refresh outcome, e.g. 'too early: demo-ig/acme — token is under 24 hours old…'.

    Control characters are made visible (`plain`): the account name and message come from Meta.

    Args:
        event: The outcome, as the engine returned it.
        force_hint: How this front end forces a refresh (e.g. 'press F to ask Meta anyway'); it
            replaces the CLI's '--force' hint. None keeps the engine's words (the CLI).
    """
    label = LABELS.get(event.result, event.result.value)
    if event.result is RefreshResult.REFRESHED:
        detail = f"new expiry {iso(event.new_expires_at) or 'unknown'}"
    else:
        detail = event.message or ""
        if force_hint is not None and detail.endswith(CLI_FORCE_HINT):
            detail = detail[: -len(CLI_FORCE_HINT)] + force_hint
        if event.error_code is not None:
            detail += f" (code {event.error_code}" + (f"/{event.error_subcode}" if event.error_subcode else "")
            detail += f", fbtrace_id {event.fbtrace_id})" if event.fbtrace_id else ")"
    return plain(f"{label}: {event.account}" + (f" — {detail}" if detail else ""), limit=LINE_LIMIT)


def has_refresh_endpoint(account: Account) -> bool:
    """Whether Meta has any refresh call for this token kind (only Instagram Login long-lived).

    Facebook Login and short-lived tokens are answered by the engine without Meta even when
    forced, so a front end offers no "force" for them and shows the engine's words instead.
    """
    return account.token_kind is TokenKind.IG_LONG


def force_outlook(account: Account, now: datetime, *, refusal: RefreshEvent | None = None) -> str:
    """What Meta will most likely answer if this token's refresh is forced now, in plain words.

    Mirrors the engine's precheck (the reasons igtui would not ask Meta), phrased as a forecast,
    each ending with what to do instead. Meant for a confirmation before `force=True`.

    Args:
        account: The account as stored.
        now: The current time.
        refusal: The account's latest refresh refused by Meta, if the caller has it: its codes
            are quoted when it is about the current token (not older than its issue time).
    """
    ref = plain(account.ref, limit=120)
    if not has_refresh_endpoint(account):
        if account.token_kind is TokenKind.IG_SHORT:
            return "Short-lived tokens are exchanged at login, not refreshed; nothing is sent to Meta. Log in again."
        return "Facebook Login has no refresh endpoint; nothing is sent to Meta. Log in again to renew it."
    if account.status is AccountStatus.NEEDS_RELOGIN:
        codes = ""
        if refusal is not None and refusal.error_code is not None and (
            account.issued_at is None or refusal.at >= account.issued_at
        ):
            codes = f" ({refusal.error_code}" + (f"/{refusal.error_subcode}" if refusal.error_subcode else "") + ")"
        reason = plain(account.status_reason or "it needs a new login", limit=300)
        return (f"Meta refused this token{codes}: {reason}. A refresh will fail again; "
                f"log in again instead.")
    if account.status is AccountStatus.TOKEN_UNCERTAIN:
        return ("A refresh of this token may have been lost, so Meta may already have replaced it; "
                "verify it first, or log in again instead.")
    if account.expires_at is not None and policy.is_expired(account, now):  # is_expired implies a known expiry
        ago = humanize_delta(now - account.expires_at)
        return f"The token expired {ago} ago. Meta will refuse an expired token; log in again instead."
    after = policy.refreshable_after(account)
    if after is not None and now < after:
        return (f"Meta usually refuses tokens under 24 hours old (code 100); {ref} becomes refreshable "
                f"in {humanize_delta(after - now)} (at {iso(after)}).")
    if account.retry_at is not None and account.retry_at > now and account.status is AccountStatus.RATE_LIMITED:
        return f"Meta throttled this app until {iso(account.retry_at)}; it will likely refuse again until then."
    return "igtui would refresh this token now anyway: Meta should accept it."


LOST_LABELS: dict[Health, str] = {
    Health.EXPIRED: "EXPIRED",
    Health.NEEDS_RELOGIN: "NEEDS RE-LOGIN",
    Health.TOKEN_UNCERTAIN: "TOKEN UNCERTAIN",
    Health.APP_BLOCKED: "APP BLOCKED",
    Health.DAMAGED: "DAMAGED",
}
"""The first word of a line naming an account no refresh can save (`policy.LOST`)."""


def lost_line(account: Account, assessment: policy.Assessment) -> str:
    """One line naming an account no refresh can save and what to do, e.g. for a cron mail.

    'EXPIRED: shop/alice — token expired; log in again; to fix: igtui login shop'. An account of
    a blocked app points at the App Dashboard instead: a new login cannot help it.
    """
    health = assessment.health
    label = LOST_LABELS.get(health, health.value)
    if health is Health.APP_BLOCKED:
        # The reason already ends with Meta's App Dashboard step; a login cannot help.
        return plain(f"{label}: {account.ref} — {assessment.reason}; no login needed: the account works again "
                     f"once the app does", limit=LINE_LIMIT)
    elif health is Health.DAMAGED:
        # The reason says what to do; a login would only add a second row beside the damaged one.
        return plain(f"{label}: {account.ref} (id {account.id}) — {assessment.reason}", limit=LINE_LIMIT)
    elif health is Health.TOKEN_UNCERTAIN:
        todo = f"check it: igtui token inspect --verify {account.ref}, or log in again: igtui login {account.app_name}"
    else:
        todo = f"igtui login {account.app_name}"
    return plain(f"{label}: {account.ref} — {assessment.reason}; to fix: {todo}", limit=LINE_LIMIT)


__all__ = ["CLI_FORCE_HINT", "LABELS", "LOST_LABELS", "event_line", "force_outlook", "has_refresh_endpoint",
           "lost_line"]
