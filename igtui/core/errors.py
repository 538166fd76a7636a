"""igtui's exception hierarchy and process exit codes.

Every expected failure is an `IgtuiError`. Its `str()` is one plain line fit for stderr, it
never contains a secret, and its `exit_code` is what the CLI exits with. The CLI and the TUI
catch these and nothing else; httpx, sqlite3 and cryptography errors are mapped once, at the
boundary that sees them (the HTTP door, the store, the vault).

* IgtuiError                      exit 1
  x UsageError                    exit 2   bad arguments or bad input
    + ValidationError                      a value failed validation (app id, URI, scope…)
    + NotFound                             no such app / account / flow
    + CallbackRejected                     a pasted or received redirect URL was refused
  x StoreError                    exit 3
    + StoreMissing                         no store yet (run `igtui init`)
    + StoreLocked                          no passphrase source, or the store is not unlocked
    + WrongPassphrase
    + StoreDamaged                         not SQLite / truncated / header broken
    + RecordDamaged                        one ciphertext failed to open (names the record)
    + StoreTooNew                          written by a newer igtui
    + InsecurePermissions                  directory or file others can read or write
  x ApiError                      exit 1   Meta answered with an error (typed by code)
    + ReloginRequired             exit 4   190 family: token dead, user must log in again
    + RateLimited                          4, 17, 32, 613, 80001, 80002 …
    + PermissionMissing                    10, 200–299
    + BadRequest                           100 and other client errors
    + TransientApiError                    1, 2, 5xx
    + AppBlocked                  exit 4   Meta acted on the app itself (every token of it fails)
  x NetworkError                  exit 1   timeout, DNS, TLS, connection refused, bad body
  x OAuthError                    exit 1
    + ConsentDenied                        the user pressed "deny"
    + FlowExpired                          the pending flow's 10 minutes ran out
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by every command (the README lists them)."""

    OK = 0
    """Success."""
    FAILED = 1
    """The operation failed (API or network)."""
    USAGE = 2
    """Usage error or bad input."""
    STORE = 3
    """The store is locked, the passphrase is wrong, or the store is damaged."""
    ATTENTION = 4
    """Something needs a human: an account needs re-login or is about to expire."""


class IgtuiError(Exception):
    """Base of every expected igtui failure.

    Args:
        message: One line, plain words, no secrets. It is what the user sees.
    """

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(IgtuiError):
    """Bad arguments or bad input."""

    exit_code = ExitCode.USAGE


class ValidationError(UsageError):
    """A value (app id, redirect URI, scope, passphrase…) failed validation."""


class NotFound(UsageError):
    """The named app, account or pending flow does not exist."""


class CallbackRejected(UsageError):
    """A redirect URL (pasted or received by the listener) was refused before its code was used."""

    state: Any
    """Set only for a redirect that carried Meta's error: its `state` (a Secret or None), so that
    the flow it belongs to ends too. Declared, not defaulted: others have no such attribute."""


class StoreError(IgtuiError):
    """The store cannot be used as asked."""

    exit_code = ExitCode.STORE


class StoreMissing(StoreError):
    """There is no store at the path; `igtui init` creates one."""


class StoreLocked(StoreError):
    """No passphrase was available, or a secret was asked of a store that was not unlocked."""


class WrongPassphrase(StoreError):
    """The passphrase did not unwrap the data key (distinct from damage)."""


class StoreDamaged(StoreError):
    """The file is not an igtui store, is truncated, or its header does not verify."""


class RecordDamaged(StoreError):
    """One encrypted field failed to open; the message names the record. Others still open."""

    def __init__(self, message: str, *, record: str) -> None:
        super().__init__(message)
        self.record = record


class StoreTooNew(StoreError):
    """The store was written by a newer igtui; it is refused and left untouched."""


class InsecurePermissions(StoreError):
    """The store's directory or file is open to other users; the message has the fix."""


class ApiError(IgtuiError):
    """Meta answered with an error.

    Attributes mirror Meta's envelope so that history rows and the request log can keep them.

    Args:
        message: Plain-words summary (already sanitised of secrets).
        code: Meta's error code (Graph `code`, or the IG OAuth shape's `code`).
        subcode: Meta's `error_subcode`, when present.
        error_type: Meta's `type` / `error_type` (OAuthException, IGApiException…).
        fbtrace_id: Meta's trace id, for support requests.
        status: HTTP status of the response.
        meta_message: Meta's own message text, untouched except for redaction.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        error_type: str | None = None,
        fbtrace_id: str | None = None,
        status: int | None = None,
        meta_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.status = status
        self.meta_message = meta_message


class ReloginRequired(ApiError):
    """The token is dead (190 family); only a new login brings the account back."""

    exit_code = ExitCode.ATTENTION
    report: Any
    """Set only by `inspect_token(verify=True)`: the account's updated TokenReport (declared, not defaulted)."""


class RateLimited(ApiError):
    """Meta throttled the app or account.

    Args:
        retry_at: When access is expected back (from `estimated_time_to_regain_access`), if known.
    """

    def __init__(self, message: str, *, retry_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class PermissionMissing(ApiError):
    """The token lacks a permission the call needs (10, 200–299)."""


class BadRequest(ApiError):
    """Meta refused the request itself (100 and other client errors)."""


class TransientApiError(ApiError):
    """A temporary failure on Meta's side (1, 2, 5xx); worth retrying later."""


class AppBlocked(ApiError):
    """Meta acted on the app itself: every token of the app fails until the app is fixed in the App Dashboard.

    Kept apart from ReloginRequired because a new login cannot help: calling Meta for the
    app's other accounts only repeats the same answer, and the fix is one action by the app's
    owner, not one per account.

    Args:
        message: Plain-words summary (already sanitised of secrets).
        kind: One of `AppBlocked.KINDS`: "restricted", "disabled", "data_use_checkup", "inactive",
            "not_live" or "invalid_app" (deleted, or an id Meta does not know).
        advice: One line saying what to do in the App Dashboard.
        **kwargs: ApiError's fields (code, subcode, error_type, fbtrace_id, status, meta_message).
    """

    exit_code = ExitCode.ATTENTION
    KINDS: ClassVar[tuple[str, ...]] = ("restricted", "disabled", "data_use_checkup", "inactive", "not_live",
                                        "invalid_app")
    """What `kind` may be (the app-level events Meta announces); the refresh engine and the front ends switch on it."""

    def __init__(self, message: str, *, kind: str, advice: str, **kwargs: Any) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown AppBlocked kind {kind!r}")
        super().__init__(message, **kwargs)
        self.kind = kind
        self.advice = advice


class NetworkError(IgtuiError):
    """The request did not complete: timeout, DNS, TLS, refused connection, or an unusable body."""

    request_sent: bool | None = None
    """False when the request certainly never left this machine (DNS, refused, connect timeout,
    TLS handshake): a single-use code in it is still unused and the login may be retried. None
    when it may have reached the server (a read timeout after sending, a broken reply)."""


class OAuthError(IgtuiError):
    """The login flow could not complete."""


class ConsentDenied(OAuthError):
    """The user declined on Meta's consent page."""

    state: Any
    """The redirect's `state` (a Secret or None), set where the redirect is parsed; see CallbackRejected."""


class FlowExpired(OAuthError):
    """The pending login flow expired before it was finished."""
