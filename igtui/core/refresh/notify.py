"""Tell a human when a token is in trouble: run `IGTUI_NOTIFY_COMMAND` with JSON on stdin.

A silent 60-day expiry is the complaint users of every Instagram token keeper make most. So
when an account fails to refresh, needs a new login, may have lost a refresh, or nears an expiry
no refresh can extend, igtui runs the user's shell command (mail,
chat webhook, `notify-send`…) with one JSON object on stdin. The payload never holds a secret.

Not spamming: each (account, event kind) is announced once per *situation*, identified by a
fingerprint of the token generation and the relevant times. The fingerprints live in a small
JSON file next to the refresh locks (`notified.json`, guarded by flock), not in the store:
announcing is a side effect of this machine's cron or TUI, it needs no passphrase, and keeping it
out of the store means no extra write transaction on the refresh path. A new login or refresh
bumps the generation, so the next trouble is announced again. A command that fails is reported
on stderr and retried on the next run (its record is only written after it succeeded); it never
fails the refresh.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from igtui.core.clock import iso
from igtui.core.models import Account
from igtui.core.paths import open_private_dir, open_private_file
from igtui.core.secret import known_secrets

NotifyEvent = Literal[
    "refresh_failed", "needs_relogin", "expiring", "expired", "token_uncertain", "app_blocked", "delivery_failed",
    "recovered",
]
EVENTS: tuple[NotifyEvent, ...] = (
    "refresh_failed", "needs_relogin", "expiring", "expired", "token_uncertain", "app_blocked", "delivery_failed",
    "recovered",
)
TROUBLE: tuple[NotifyEvent, ...] = EVENTS[:-1]
"""Every event but `recovered`: what a `recovered` notice closes."""
DEFAULT_TIMEOUT = 10.0


def redact(text: str) -> str:
    """Erase any registered secret from text bound for another program (belt and braces)."""
    for value in known_secrets():
        if value in text:
            text = text.replace(value, "***")
    return text


def _version() -> str:
    try:
        from igtui import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover - the package always defines it
        return "unknown"


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing worth telling a human about one account, or about one app (`account` None).

    App notices (`app_blocked`, and the `recovered` that ends one) name the app only: Meta acted
    on the app, so one notice stands for all of its accounts.
    """

    event: NotifyEvent
    account: Account | None
    at: datetime
    reason: str
    error_code: int | None = None
    error_subcode: int | None = None
    fbtrace_id: str | None = None
    app: str | None = None
    """The app's name; taken from the account when there is one."""
    advice: str | None = None
    """What to do (app notices: the App Dashboard step)."""
    sink: int | None = None
    """Sink notices (`delivery_failed`, and the `recovered` that ends one): the sink's id. Their
    record is the sink's own, so a refresh's `recovered` never closes a delivery still failing."""

    @property
    def subject(self) -> str:
        """Whom the notice is about: `APP/username`, or `app APP`."""
        return self.account.ref if self.account is not None else f"app {self.app}"

    @property
    def key(self) -> str:
        """The notice's record in `notified.json`: the account id, or `app:NAME`."""
        if self.sink is not None:
            return f"sink:{self.sink}"
        return str(self.account.id) if self.account is not None else f"app:{self.app}"

    def payload(self) -> dict[str, object]:
        """The JSON object written to the command's stdin (schema in the README)."""
        a = self.account
        return {
            "event": self.event,
            "account": a.ref if a else None,
            "app": a.app_name if a else self.app,
            "username": a.username if a else None,
            "ig_user_id": a.ig_user_id if a else None,
            "platform": a.platform if a else None,
            "token_kind": str(a.token_kind) if a else None,
            "expires_at": iso(a.expires_at) if a else None,
            "data_access_expires_at": iso(a.data_access_expires_at) if a else None,
            "advice": self.advice,
            "reason": redact(self.reason),
            "error_code": self.error_code,
            "error_subcode": self.error_subcode,
            "fbtrace_id": self.fbtrace_id,
            "at": iso(self.at),
            "igtui_version": _version(),
            "sink": self.sink,
        }

    def fingerprint(self) -> str:
        """Identifies the situation: same fingerprint → already announced."""
        a = self.account
        if self.sink is not None:
            return f"{self.event}:sink"  # once per failing spell, however many runs it lasts
        if a is None:
            return f"{self.event}:{self.reason}"
        parts = [self.event, str(a.generation)]
        if self.event in ("expiring", "expired"):
            parts += [str(iso(a.expires_at)), str(iso(a.data_access_expires_at))]
        return ":".join(parts)


class Notifier:
    """Runs the notify command for new notices; remembers what it announced.

    Args:
        command: The shell command (None or empty: notifications are off).
        state_dir: Where `notified.json` lives (the locks directory).
        timeout: Seconds before the command is killed.
        warn: Where failures are reported (default: a line on stderr).
    """

    def __init__(
        self,
        command: str | None,
        state_dir: Path,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.command = command or None
        self.state_path = Path(state_dir) / "notified.json"
        self.timeout = timeout
        self._warn = warn or (lambda line: print(f"igtui: {line}", file=sys.stderr))

    @property
    def enabled(self) -> bool:
        """Whether a notify command is configured; callers skip building notices when notifications are off."""
        return self.command is not None

    def notify(self, notice: Notice) -> bool:
        """Announce `notice` unless this situation was already announced.

        Returns:
            True when the command ran and succeeded now.
        """
        if self.command is None:
            return False
        with self._state() as state:
            if state.get(notice.key, {}).get(notice.event) == notice.fingerprint():
                return False
            ok = self._run(notice)
            if ok:
                state.setdefault(notice.key, {})[notice.event] = notice.fingerprint()
            return ok

    def recover(self, notice: Notice) -> bool:
        """Announce `recovered` once, for an account or app whose trouble was announced before.

        The trouble records are dropped only once the command succeeded, so a failing command
        is retried on the next run, and a later relapse is announced again.

        Returns:
            True when the command ran and succeeded now (False: nothing was pending, or it failed).
        """
        if self.command is None or not os.path.lexists(self.state_path):
            return False
        with self._state() as state:
            if not state.get(notice.key):
                return False
            ok = self._run(notice)
            if ok:
                state.pop(notice.key, None)
            return ok

    def pending_recovery(self) -> set[str]:
        """The record keys with trouble announced and not yet recovered (cheap: one small file)."""
        if self.command is None or not os.path.lexists(self.state_path):
            return set()
        with self._state() as state:
            return {key for key, entry in state.items() if entry}

    def _run(self, notice: Notice) -> bool:
        command = self.command
        assert command is not None  # both callers return early when notifications are off
        data = json.dumps(notice.payload()).encode()
        # The command needs no passphrase: it gets igtui's environment without the passphrase
        # sources, as a command sink does (SECURITY.md, "Core dumps and debuggers").
        from igtui.core.childenv import child_environment

        try:
            proc = subprocess.run(  # a user-configured shell command, by design
                command,
                shell=True,
                input=data,
                env=child_environment(os.environ, {}),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self._warn(f"notify command timed out after {self.timeout:g}s ({notice.event} {notice.subject})")
            return False
        except OSError as exc:
            self._warn(f"notify command could not start: {exc.strerror}")
            return False
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] if proc.stderr else []
            detail = f": {redact(tail[0])[:200]}" if tail else ""
            self._warn(f"notify command exited {proc.returncode} ({notice.event} {notice.subject}){detail}")
            return False
        return True

    def _state(self) -> _StateFile:
        return _StateFile(self.state_path)


STATE_FILE = "the notification record"
"""How messages name `notified.json`."""


class _StateFile:
    """`notified.json` read-modify-written under flock (two cron runs may notify at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self.data: dict[str, dict[str, str]] = {}

    def __enter__(self) -> dict[str, dict[str, str]]:
        # The lock directory's rule (igtui.core.refresh.lock): a checked directory made 0700 with
        # its parents, the file opened in it with O_NOFOLLOW, O_CLOEXEC (the notify command must
        # not inherit the flock), regular and ours, created 0600; a planted link is refused.
        directory = self.path.parent
        dir_fd = open_private_dir(directory, create=True)
        assert dir_fd is not None  # create=True never answers "missing"
        try:
            fd = open_private_file(dir_fd, directory, self.path.name, create=True, what=STATE_FILE)
        finally:
            os.close(dir_fd)
        assert fd is not None
        self._fd = fd
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        raw = b""
        while chunk := os.read(self._fd, 65536):
            raw += chunk
        try:
            loaded = json.loads(raw.decode()) if raw.strip() else {}
            self.data = loaded if isinstance(loaded, dict) else {}
        except (ValueError, UnicodeDecodeError):
            self.data = {}
        return self.data

    def __exit__(self, *exc: object) -> None:
        try:
            out = json.dumps(self.data, sort_keys=True).encode()
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, out, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)


__all__ = ["EVENTS", "TROUBLE", "Notice", "Notifier", "NotifyEvent"]
