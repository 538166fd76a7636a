"""`igtui status [--all] [--json|--jsonl] [--within DAYS]`: account health, for humans and monitors.

Metadata only, so no passphrase is needed (a monitoring check must not hold the key). Exits 4
when any account needs attention (expiring without a refresh, expired, needs a login, failing to
refresh, or may have lost a refresh), the way `gh auth status` is used in scripts; exits 3 when
a row of the store is damaged (listed as `damaged`, by name, with the columns), which outranks 4.
Without the passphrase nothing can be verified: this reports what the file says (SECURITY.md).

Why the default lists only what needs attention: on 100,000 accounts a probe or a glance must
cost what it costs on 1,000. The plain form reads the accounts `Store.accounts_to_look_at`
selects in SQL (a superset of those needing attention: the policy decides on each, as ever) and
counts the rest with one COUNT; `--all` lists every account, and `--json`/`--jsonl` stream
every account as it is read, so memory stays flat whatever the size.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from json.encoder import encode_basestring_ascii as _ESC
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igtui.core.models import Account, App


def status_json(account: Account, app: App | None, now: datetime, within: int | None) -> dict[str, object]:
    """One account's health as JSON (schema in the README / report)."""
    from igtui.core.clock import iso
    from igtui.core.refresh import policy

    days = policy.window_days(account, app, within)
    a = policy.assess(account, now, within_days=days, app=app)
    return {
        "account": account.ref,
        "app": account.app_name,
        "username": account.username,
        "ig_user_id": account.ig_user_id,
        "platform": account.platform,
        "token_kind": account.token_kind.value,
        "health": a.health.value,
        "attention": a.health in policy.ATTENTION,
        "reason": a.reason,
        "status": account.status.value,
        "issued_at": iso(account.issued_at),
        "expires_at": iso(account.expires_at),
        "expires_known": account.expires_known,
        "data_access_expires_at": iso(account.data_access_expires_at),
        "ends_at": iso(a.ends_at),
        "refreshed_at": iso(account.refreshed_at),
        "refreshable_after": iso(policy.refreshable_after(account)),
        "next_refresh_at": iso(a.next_refresh_at),
        "retry_at": iso(account.retry_at),
        "failures": account.failures,
        "within_days": days,
        "damage": policy.damage_of(account, app),
    }


_MINUTES = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECONDS = tuple(f'{s:02d}Z"' for s in range(60))
_LEVEL_PAD = "      "
"""The indentation of a row's keys: rows are the elements of the document's `accounts` array."""
_ROW_KEYS = ("account", "app", "username", "ig_user_id", "platform", "token_kind", "health", "attention", "reason",
             "status", "issued_at", "expires_at", "expires_known", "data_access_expires_at", "ends_at", "refreshed_at",
             "refreshable_after", "next_refresh_at", "retry_at", "failures", "within_days", "damage",
             "interrupted_refresh", "sinks")
"""The keys of a `status --json` row, in order: `status_json`'s, then those `_run` and the sinks add."""


class _HealthyText:
    """`status --json` rows of healthy accounts laid out from a template, the others left to `_dumps`.

    Why: on 100,000 accounts, building each row's dict (nine time-to-text conversions, the
    assessment's objects, enum lookups) and walking it again to lay it out cost twice the bare
    sqlite3 + `json.dumps` script the issue measures against. Nearly every account of a large
    store is the one case handled here: an Instagram long-lived token, status ok, sound row and
    app, not expired, no data-access expiry, more than its window left, no sink, no interrupted
    refresh. For it `policy.assess` answers healthy with '<time left> left', its end is its
    expiry and its next refresh the latest of its gates, which is all this computes; any other
    account returns None and goes the general way (`status_json`, then `_dumps`). The text is
    byte for byte what `_dumps` makes of that row's dict at the document's element level; the
    tests compare the two on accounts of every kind, status and time around each boundary.

    Time texts are cached per distinct value (tokens issued in one bulk login share theirs) and
    put together from cached pieces otherwise (`_time`), in caches cleared when they grow large,
    so memory stays flat on any store.
    """

    _LIMIT = 4096

    def __init__(self, now: datetime, within: int | None, apps: dict[str, App]) -> None:
        from igtui.commands._stream import Encoded
        from igtui.core.models import DEFAULT_REFRESH_WITHIN_DAYS
        from igtui.core.refresh.policy import MIN_REFRESH_AGE

        self.now = now
        self.within = DEFAULT_REFRESH_WITHIN_DAYS if within is None else within
        # Apps whose accounts may take this path, with the window their accounts default to.
        self.app_days = {name: self.within if app.refresh_within_days is None else app.refresh_within_days
                         for name, app in apps.items() if app.damage is None and app.blocked_kind is None}
        self.known = frozenset(apps)
        """Every app's name: an account of one missing from `app_days` (blocked, damaged) goes the general way."""
        self.encoded = Encoded
        self.after = MIN_REFRESH_AGE
        self.windows: dict[int, timedelta] = {}
        self.times: dict[datetime, str] = {}
        self.days: dict[date, str] = {}
        self.lefts: dict[int, str] = {}
        pad = "\n" + _LEVEL_PAD
        self.template = "{" + pad + ("," + pad).join(
            f'"{key}": %s' for key in _ROW_KEYS) + "\n" + _LEVEL_PAD[:-2] + "}"

    def _time(self, at: datetime | None) -> str:
        """`iso(at)` as JSON text (`null` for None), cached per value.

        A value not seen yet is put together from cached pieces, its date, its hour and minute
        and its second, which is what `iso` writes for a UTC time (it drops the microseconds):
        a store whose every token has a time of its own then costs little more than one where
        a bulk login gave thousands of tokens the same times.
        """
        if at is None:
            return "null"
        text = self.times.get(at)
        if text is None:
            if at.tzinfo is not UTC:  # another zone: `iso` converts it
                from igtui.core.clock import iso

                text = f'"{iso(at)}"'
            else:
                day = at.date()
                head = self.days.get(day)
                if head is None:
                    if len(self.days) >= self._LIMIT:
                        self.days.clear()
                    head = self.days[day] = f'"{day.isoformat()}T'
                text = head + _MINUTES[at.hour * 60 + at.minute] + _SECONDS[at.second]
            if len(self.times) >= self._LIMIT:
                self.times.clear()
            self.times[at] = text
        return text

    def _left(self, left: timedelta) -> str:
        """`humanize_delta(left) + " left"` as JSON text, for a positive `left`, cached per hour
        when a day or more is left (then the text says days and hours only)."""
        seconds = int(left.total_seconds())  # what humanize_delta counts from
        if seconds < 86400:
            from igtui.core.clock import humanize_delta

            return _ESC(f"{humanize_delta(left)} left")
        hours = seconds // 3600
        text = self.lefts.get(hours)
        if text is None:
            if len(self.lefts) >= self._LIMIT:
                self.lefts.clear()
            days, hour = divmod(hours, 24)
            text = self.lefts[hours] = f'"{days}d {hour:02d}h left"'
        return text

    def __call__(self, acc: Account) -> str | None:
        """The row's JSON text, or None when the account is not the healthy case handled here."""
        from igtui.core.models import AccountStatus, TokenKind

        expires = acc.expires_at
        if (acc.token_kind is not TokenKind.IG_LONG or acc.status is not AccountStatus.OK or acc.damage is not None
                or expires is None or acc.data_access_expires_at is not None):
            return None
        now = self.now
        if expires <= now:
            return None
        name = acc.app_name
        days = self.app_days.get(name)
        if days is None:
            if name in self.known:  # its app is blocked or damaged: the general way says so
                return None
            days = self.within  # no such app: `status_json` gets None for it
        if acc.refresh_within_days is not None:  # the account's own window wins
            days = acc.refresh_within_days
        window = self.windows.get(days)
        if window is None:
            window = self.windows[days] = timedelta(days=days)
        start = expires - window
        if start < now:  # inside its window: expiring, due or refreshable later
            return None
        left = self._left(expires - now)
        issued = acc.issued_at
        after = None if issued is None else issued + self.after
        retry = acc.retry_at
        if after is not None and after >= expires:
            next_at = None
        else:
            gates = [start]
            if after is not None:
                gates.append(after)
            if retry is not None and retry > now:
                gates.append(retry)
            next_at = max(gates)
        time = self._time
        expires_text = time(expires)
        return self.encoded(self.template % (
            _ESC(f"{acc.app_name}/{acc.username}"), _ESC(acc.app_name), _ESC(acc.username), _ESC(acc.ig_user_id),
            _ESC(acc.platform), '"ig_long"', '"healthy"', "false", left, '"ok"', time(issued), expires_text,
            "true" if acc.expires_known else "false", "null", expires_text, time(acc.refreshed_at), time(after),
            time(next_at), time(retry), int.__repr__(acc.failures), int.__repr__(days), "null", "false", "[]"))


def app_json(app: App) -> dict[str, object]:
    """One app's own state as JSON: a block by Meta ends every token of the app at once."""
    from igtui.core.clock import iso

    return {
        "app": app.name,
        "platform": app.platform,
        "state": "damaged" if app.damage is not None else ("blocked" if app.blocked_kind is not None else "ok"),
        "blocked_kind": app.blocked_kind,
        "reason": app.blocked_reason,
        "blocked_at": iso(app.blocked_at),
        "attention": app.blocked_kind is not None or app.damage is not None,
        "damage": app.damage,
    }


def _print_blocked(blocked: list[App]) -> None:
    """The apps Meta blocked, above the accounts (each one ends all of the app's tokens)."""
    from igtui.core.clock import iso
    from igtui.core.safetext import plain

    for app in blocked:
        since = f" since {iso(app.blocked_at)}" if app.blocked_at else ""
        print(plain(f"APP BLOCKED: {app.name}{since} — {app.blocked_reason or app.blocked_kind}", limit=1000))


def _print_damaged_apps(damaged: list[App]) -> None:
    """Damaged app rows, above the accounts (their accounts are listed as damaged too)."""
    from igtui.core.safetext import plain

    for app in damaged:
        print(plain(f"APP DAMAGED: {app.name} (id {app.id}) — {app.damage}; nothing is sent for its accounts",
                    limit=1000))


def _ends(account: Account, now: datetime) -> str:
    """The EXPIRES IN cell: time left, or why there is none."""
    from igtui.core.clock import humanize_delta

    if account.damage is not None:
        return "-"
    if account.expires_at is None:
        return "never" if account.expires_known else "unknown"
    left = account.expires_at - now
    return humanize_delta(left) if left.total_seconds() > 0 else "expired"


class _Tally:
    """What the rows decided so far: the exit code's inputs and the summary's counts."""

    def __init__(self) -> None:
        self.rows = 0
        self.attention = 0
        self.damaged = 0
        self.quiet: dict[str, int] = {}
        """Rows needing no attention, by health (the summary line of the default output)."""


def _run(args: argparse.Namespace) -> int:
    from igtui.core.errors import ExitCode, UsageError

    if args.within is not None and not 0 <= args.within <= 365:
        raise UsageError("--within takes a number of days between 0 and 365")
    if args.json and args.jsonl:
        raise UsageError("--json and --jsonl are two forms of the same output; give one")
    from igtui.commands._common import session

    wiring = session(args)
    store = wiring.open_store(unlock=False)
    now = wiring.clock.now()
    apps = {a.name: a for a in store.list_apps()}
    locks = wiring.refresh_locks()
    from igtui.core.delivery.report import apply_to_status, by_account
    from igtui.core.refresh.policy import ATTENTION

    sinks = by_account(store.list_sinks())  # a failing sink: health delivery_failed, exit 4
    attention_health = frozenset(h.value for h in ATTENTION)
    blocked = [app for app in apps.values() if app.blocked_kind is not None]
    damaged_apps = [app for app in apps.values() if app.damage is not None]
    tally = _Tally()
    every = bool(args.json or args.jsonl or args.all)
    accounts: Iterable[Account]
    if every:
        accounts = store.iter_accounts()
        interrupted = locks.stale_intents()
    else:
        # Only the accounts that may need attention (SQL, on indexes); the rest are counted. An
        # interrupted refresh changes a row's reason, never its attention, so only the selected
        # accounts' lock files are looked at (a store refreshed before holds one per account).
        troubled_sinks = {i for i, ss in sinks.items() if any(s.failing or s.pending for s in ss)}
        accounts = store.accounts_to_look_at(now, window_days=args.within, also=troubled_sinks)
        interrupted = {a.id: intent for a in accounts if (intent := locks.peek_intent(a.id)) is not None}

    def row_of(acc: Account) -> dict[str, object]:
        row = status_json(acc, apps.get(acc.app_name), now, args.within)
        row["interrupted_refresh"] = acc.id in interrupted and interrupted[acc.id].generation == acc.generation
        if row["interrupted_refresh"]:
            row["reason"] = f"{row['reason']}; a refresh was interrupted, the next `igtui refresh` checks the token"
        apply_to_status(row, sinks.get(acc.id, []), attention_health=attention_health)
        tally.rows += 1
        if row["attention"]:
            tally.attention += 1
        else:
            tally.quiet[str(row["health"])] = tally.quiet.get(str(row["health"]), 0) + 1
        if row["damage"] is not None:
            tally.damaged += 1
        return row

    def rows() -> Iterator[tuple[Account, dict[str, object]]]:
        for acc in accounts:
            yield acc, row_of(acc)

    def code() -> ExitCode:
        damaged = tally.damaged + len(damaged_apps)
        return ExitCode.STORE if damaged else (ExitCode.ATTENTION if tally.attention or blocked else ExitCode.OK)

    if args.json:
        from igtui.commands._stream import write_json_document
        from igtui.core.clock import iso

        healthy = _HealthyText(now, args.within, apps)
        quiet = tally.quiet

        def items() -> Iterator[object]:
            for acc in accounts:
                if acc.id not in sinks and acc.id not in interrupted:
                    text = healthy(acc)
                    if text is not None:  # what row_of would decide for it: healthy, no attention
                        tally.rows += 1
                        quiet["healthy"] = quiet.get("healthy", 0) + 1
                        yield text
                        continue
                yield row_of(acc)

        write_json_document(
            {"now": iso(now), "apps": [app_json(app) for app in apps.values()]}, "accounts", items(),
            lambda: {"attention": tally.attention, "apps_blocked": len(blocked),
                     "damaged": tally.damaged + len(damaged_apps)},
        )
        return int(code())
    if args.jsonl:
        from igtui.commands._stream import write_jsonl

        write_jsonl(row for _acc, row in rows())
        return int(code())
    _print_damaged_apps(damaged_apps)
    _print_blocked(blocked)
    table = [[r["account"], r["token_kind"], r["health"], _ends(acc, now), r["reason"]]
             for acc, r in rows() if every or r["attention"]]
    total = tally.rows if every else store.count_accounts()
    if total == 0:
        print("igtui: no accounts yet (log in with `igtui login APP`)", file=sys.stderr)
    if table:
        from igtui.commands._common import print_table

        print_table(["ACCOUNT", "KIND", "HEALTH", "EXPIRES IN", "REASON"], table)
    if not every and total:
        print(_summary(total - tally.attention, tally.quiet, total - tally.rows, listed=bool(table)))
    if tally.attention:
        print(f"igtui: {tally.attention} account(s) need attention", file=sys.stderr)
    damaged = tally.damaged + len(damaged_apps)
    if damaged:
        print(f"igtui: {damaged} record(s) of the store are damaged or were changed outside igtui "
              "(see above); nothing is sent for them", file=sys.stderr)
    return int(code())


def _summary(rest: int, quiet: dict[str, int], unread: int, *, listed: bool) -> str:
    """The one line that stands for every account the default output does not list.

    `unread` accounts were not even read: the SQL selection left them out because they are
    healthy and not due (`Store.accounts_to_look_at`); `quiet` counts, by health, those that
    were read and need no attention.
    """
    if not rest:
        return "every account needs attention (listed above)"
    counts = dict(quiet)
    if unread:
        counts["healthy"] = counts.get("healthy", 0) + unread
    order = ["healthy", "refresh_due", "rate_limited"]
    parts = [f"{counts[h]:,} {h}" for h in sorted(counts, key=lambda h: (order.index(h) if h in order else 9, h))]
    what = "account needs" if rest == 1 else "accounts need"
    return (f"{rest:,} {'other ' if listed else ''}{what} no attention ({', '.join(parts)});"
            " `igtui status --all` lists every account")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status`."""
    p = subparsers.add_parser(
        "status",
        help="accounts needing attention, and a count of the rest (exit 4 when any needs attention)",
        description="Show the accounts needing attention (--all: every account) and one line counting the rest; "
        "each account's health is one of healthy, refresh_due, expiring, expired, needs_relogin, "
        "rate_limited, refresh_failed, token_uncertain, app_blocked or damaged, with each app Meta blocked "
        "listed above the accounts. Needs no passphrase. Exits 4 when any account or app needs attention, "
        "3 when a record of the store is damaged.",
    )
    p.add_argument("--all", action="store_true",
                   help="list every account (default: those needing attention, and one line for the rest)")
    p.add_argument("--json", action="store_true", help="machine-readable output, every account (streamed)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per account per line (JSON Lines)")
    p.add_argument("--within", type=int, metavar="DAYS",
                   help="warning window in days (default: account, then app setting, then 15)")
    p.set_defaults(func=_run)


__all__ = ["register", "status_json"]
