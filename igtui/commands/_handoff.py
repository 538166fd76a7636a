"""What `export` and `exec` share: variable names, refusing dead tokens, reading tokens with their
audit rows.

Why one place: both commands hand tokens to other programs under environment-variable names,
and a script moving from `eval "$(igtui export …)"` to `igtui exec …` must find the same names,
the same refusal of a dead token and the same audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from igtui.core.errors import UsageError

if TYPE_CHECKING:
    from igtui.core.models import Account
    from igtui.core.secret import Secret
    from igtui.core.store import Store

DEFAULT_VAR = "INSTAGRAM_ACCESS_TOKEN"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TOKEN_SUFFIX = "_ACCESS_TOKEN"


def check_var(name: str, *, option: str) -> str:
    """A variable name as given, or UsageError: letters, digits and `_`, not starting with a digit.

    Why so strict: the name is written unquoted into `export NAME=…` for `eval`, and a name such as
    `X;rm -rf ~` would run as a command.
    """
    from igtui.core.safetext import echo

    if not _NAME.match(name):
        raise UsageError(f"{option}: {echo(name)} is not a variable name (letters, digits and _, "
                         "not starting with a digit)")
    return name


def derived_var(account: Account) -> str:
    """`INSTAGRAM_ACCESS_TOKEN_<APP>_<USERNAME>`, uppercased, every other character `_`.

    The name used for each account when several are exported at once.
    """
    tail = re.sub(r"[^A-Z0-9]", "_", f"{account.app_name}_{account.username}".upper())
    return f"{DEFAULT_VAR}_{tail}"


def companion_vars(token_var: str) -> tuple[str, str]:
    """The user-id and expiry variables that go with a token variable in `exec`.

    `INSTAGRAM_ACCESS_TOKEN` → `INSTAGRAM_USER_ID`, `INSTAGRAM_TOKEN_EXPIRES_AT`; any `X_ACCESS_TOKEN`
    likewise → `X_USER_ID`, `X_TOKEN_EXPIRES_AT`; any other `NAME` → `NAME_USER_ID`, `NAME_EXPIRES_AT`.
    """
    if token_var.endswith(_TOKEN_SUFFIX) and len(token_var) > len(_TOKEN_SUFFIX):
        stem = token_var[: -len(_TOKEN_SUFFIX)]
        return f"{stem}_USER_ID", f"{stem}_TOKEN_EXPIRES_AT"
    return f"{token_var}_USER_ID", f"{token_var}_EXPIRES_AT"


def unique_names(pairs: Sequence[tuple[str, Account]]) -> None:
    """UsageError when two accounts would land in one variable (e.g. `a.b` and `a_b`)."""
    seen: dict[str, Account] = {}
    for name, account in pairs:
        other = seen.get(name)
        if other is not None and other.id != account.id:
            raise UsageError(f"{other.ref} and {account.ref} both map to {name}; export them one at a time "
                             "with --var")
        if other is not None:
            raise UsageError(f"{account.ref} is named twice")
        seen[name] = account


def dead_reason(account: Account, now: datetime) -> str | None:
    """Why this token is known to be dead (the same rule as `token get`), or None."""
    from igtui.core.models import AccountStatus

    if account.status is AccountStatus.NEEDS_RELOGIN:
        return f"{account.ref} needs a new login: {account.status_reason or 'the token is dead'}"
    if account.expires_at is not None and account.expires_at <= now:
        return f"the token of {account.ref} expired; log in again"
    return None


def read_tokens(store: Store, action: str, reads: Sequence[tuple[Account, str | None]]) -> list[Secret]:
    """The tokens of `reads` (account, audit detail), with one audit row each, appended first.

    Why the audit first: a token must never leave without its row; if the append fails (store
    busy, locked), nothing leaves.
    """
    tokens = store.account_tokens([a.id for a, _ in reads])
    out: list[Secret] = []
    for account, _detail in reads:
        value = tokens.get(account.id)
        if value is None:
            from igtui.core.errors import NotFound

            raise NotFound(f"{account.ref} was removed meanwhile")
        if isinstance(value, Exception):
            raise value
        out.append(value)
    store.append_audits(action, reads)
    return out


__all__ = ["DEFAULT_VAR", "check_var", "companion_vars", "dead_reason", "derived_var", "read_tokens",
           "unique_names"]
