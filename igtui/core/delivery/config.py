"""What a sink is: its sealed configuration (`SinkConfig`) and its row as listed (`Sink`).

Why two shapes: a sink decides where a token goes, exactly like an app's base URL, so its target
must not be changeable by someone who can write the store file but has no passphrase. The whole
configuration is therefore stored sealed (AES-GCM under the store's data key, bound to the sink's
row id, `Vault.encrypt_field`), and delivery reads ONLY the sealed copy. The plain columns are a
copy for `igtui sink list` and `igtui status`, which need no passphrase; when the sealed copy is
opened, every plain column is compared with it, and any difference refuses the sink as changed
outside igtui (SECURITY.md: an attacker who can write the file).

This module imports no store, so the store, the delivery code and the front ends share it
without import cycles. It is pure but for `sink_config`, which turns what a user typed (`igtui
sink add`'s flags, the TUI's sink editor) into a `SinkConfig`: the one place those checks live,
so both front ends accept and refuse the same input in the same words. It resolves the path and
looks (stat only) at its directory.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from igtui.core.errors import ValidationError
from igtui.core.safetext import plain

SinkKind = Literal["file", "command"]
FileFormat = Literal["dotenv", "json", "raw"]
KINDS: tuple[SinkKind, ...] = ("file", "command")
FORMATS: tuple[FileFormat, ...] = ("dotenv", "json", "raw")
DEFAULT_VAR = "INSTAGRAM_ACCESS_TOKEN"
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 3600.0
MAX_COMMAND_CHARS = 4096
MAX_PATH_CHARS = 4096
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
CONFIG_VERSION = 1


class ConfigError(ValueError):
    """A sink configuration igtui would never write (bad JSON, an unknown field or value)."""


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """Everything that decides where a token goes; sealed as one JSON document.

    `account_id` is inside the seal so that a sink cannot be pointed at another account's token
    by editing the plain `account_id` column.
    """

    account_id: int
    kind: SinkKind
    path: str | None = None
    """File sinks: an absolute path (resolved when the sink was added, so cron's cwd is moot)."""
    format: FileFormat | None = None
    var: str | None = None
    """dotenv/json: the variable or key that carries the token."""
    command: str | None = None
    """Command sinks: a shell command line; the token arrives on its stdin, never in argv."""
    timeout: float | None = None
    """Command sinks: seconds before the command's process group is killed."""

    @property
    def target(self) -> str:
        """Where the token goes, in one line for listings: the path or the command."""
        return (self.path if self.kind == "file" else self.command) or ""

    def dumps(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the sealed plaintext."""
        return json.dumps(
            {
                "v": CONFIG_VERSION,
                "account_id": self.account_id,
                "kind": self.kind,
                "path": self.path,
                "format": self.format,
                "var": self.var,
                "command": self.command,
                "timeout": self.timeout,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def loads(cls, raw: bytes) -> SinkConfig:
        """Parse and check a sealed configuration (a seal that opens was written by igtui, but a
        newer igtui's fields are refused rather than half understood)."""
        try:
            data = json.loads(raw.decode())
        except (ValueError, UnicodeDecodeError):
            raise ConfigError("the sealed configuration is not JSON") from None
        if not isinstance(data, dict) or data.get("v") != CONFIG_VERSION:
            raise ConfigError("the sealed configuration has an unknown version")
        try:
            config = cls(
                account_id=int(data["account_id"]),
                kind=data["kind"],
                path=data.get("path"),
                format=data.get("format"),
                var=data.get("var"),
                command=data.get("command"),
                timeout=None if data.get("timeout") is None else float(data["timeout"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError("the sealed configuration is incomplete") from None
        problem = config.problem()
        if problem:
            raise ConfigError(problem)
        return config

    def problem(self) -> str | None:
        """Why this configuration is unacceptable (None: fine). Checked on add and on open."""
        if str(self.kind) not in KINDS:  # a parsed configuration may hold anything
            return "a sink is a file or a command"
        if self.kind == "file":
            if not self.path or len(self.path) > MAX_PATH_CHARS or not self.path.startswith("/") or "\x00" in self.path:
                return "a file sink needs an absolute path"
            if self.format not in FORMATS:
                return f"--format is one of {', '.join(FORMATS)}"
            if self.format == "raw":
                if self.var is not None:
                    return "--var does not go with --format raw (the file holds only the token)"
            elif self.var is None or not _VAR_RE.match(self.var):
                return "--var is a name of letters, digits and _ that does not start with a digit"
            if self.command is not None or self.timeout is not None:
                return "a file sink has no command or timeout"
            return None
        # a command sink
        if not self.command or not self.command.strip() or len(self.command) > MAX_COMMAND_CHARS:
            return f"--command needs a command line of at most {MAX_COMMAND_CHARS} characters"
        if "\x00" in self.command:
            return "--command cannot contain a NUL character"
        if self.timeout is None or not 0 < self.timeout <= MAX_TIMEOUT:
            return f"--timeout takes seconds between 0 and {MAX_TIMEOUT:g}"
        if self.path is not None or self.format is not None or self.var is not None:
            return "a command sink has no path, format or variable"
        return None


class SinkInputError(ValidationError):
    """What a user typed is not a sink (exit 2): one line, and the field it is about.

    Why the field: the TUI's sink editor shows the line under that field; the CLI prints it
    as any other usage error. `field` is one of "path", "format", "var", "command", "timeout",
    or None when no single field is to blame.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def sink_config(
    account_id: int,
    kind: SinkKind,
    *,
    path: str | None = None,
    format: str | None = None,
    var: str | None = None,
    command: str | None = None,
    timeout: float | None = None,
) -> SinkConfig:
    """The sink a user asked for (`igtui sink add`, the TUI's sink editor), with the defaults
    filled in, or `SinkInputError` naming the field that is wrong.

    File sinks: `~` is expanded and the path made absolute here, once (cron runs elsewhere); it
    must not be a directory and its directory must exist. Format defaults to dotenv, the variable
    to INSTAGRAM_ACCESS_TOKEN (none for raw). Command sinks: the timeout defaults to 30 s. A field
    that does not go with the kind is refused rather than ignored. Last, `SinkConfig.problem()`,
    the check the store makes again on add and on every open.
    """
    if kind == "file":
        if command is not None:
            raise SinkInputError("a file sink runs no command", field="command")
        if timeout is not None:
            raise SinkInputError("a timeout goes with a command sink, not a file", field="timeout")
        fmt = format or "dotenv"
        if fmt not in FORMATS:
            raise SinkInputError(f"the format is one of {', '.join(FORMATS)}", field="format")
        if fmt == "raw" and var is not None:
            raise SinkInputError("a raw file holds only the token: it takes no variable name", field="var")
        if not path or not path.strip():
            raise SinkInputError("give the file the token goes to", field="path")
        if "\x00" in path or len(path) > MAX_PATH_CHARS:
            raise SinkInputError(f"a path is at most {MAX_PATH_CHARS} characters, without NUL", field="path")
        full = os.path.abspath(os.path.expanduser(path))
        if os.path.isdir(full):
            raise SinkInputError(f"{plain(full, limit=200)} is a directory; give the file the token goes to",
                                 field="path")
        if not os.path.isdir(os.path.dirname(full)):
            raise SinkInputError(f"the directory of {plain(full, limit=200)} does not exist", field="path")
        name = None if fmt == "raw" else (var or DEFAULT_VAR)
        if name is not None and not _VAR_RE.match(name):
            raise SinkInputError("a variable name is letters, digits and _, and does not start with a digit",
                                 field="var")
        config = SinkConfig(account_id=account_id, kind="file", path=full, format=fmt, var=name)
    elif kind == "command":
        if path is not None:
            raise SinkInputError("a command sink writes no file", field="path")
        if format is not None or var is not None:
            raise SinkInputError("a format and a variable name go with a file sink, not a command",
                                 field="format" if format is not None else "var")
        if not command or not command.strip():
            raise SinkInputError("give the command that receives the token on its stdin", field="command")
        if len(command) > MAX_COMMAND_CHARS:
            raise SinkInputError(f"a command is at most {MAX_COMMAND_CHARS} characters", field="command")
        if "\x00" in command:
            raise SinkInputError("a command cannot contain a NUL character", field="command")
        seconds = DEFAULT_TIMEOUT if timeout is None else timeout
        if not 0 < seconds <= MAX_TIMEOUT:  # NaN fails this too
            raise SinkInputError(f"the timeout is seconds between 0 and {MAX_TIMEOUT:g}", field="timeout")
        config = SinkConfig(account_id=account_id, kind="command", command=command, timeout=seconds)
    else:
        raise SinkInputError("a sink is a file or a command")
    problem = config.problem()
    if problem:
        raise SinkInputError(problem)
    return config


@dataclass(frozen=True, slots=True)
class Sink:
    """A sink's row as stored: the plain copy of its target (display only) and its state.

    Delivery never uses `kind`, `target`, `format` or `var` from here: it opens the sealed
    configuration (`Store.open_sinks`), which must match them.
    """

    id: int
    account_id: int
    account: str | None
    """`APP/username` of the account now (None: the account was removed)."""
    kind: str
    target: str
    format: str | None
    var: str | None
    created_at: datetime | None
    delivered_generation: int
    """The token generation this sink last received (0: never)."""
    account_generation: int | None
    """The account's current generation (None: the account was removed)."""
    delivered_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    """Redacted: the reason the last attempt failed (None after a success)."""
    failures: int = 0
    """Consecutive failed attempts (0 after a success)."""
    last_output: str | None = None
    """The command's last stdout/stderr, redacted and cut (command sinks)."""

    @property
    def pending(self) -> bool:
        """Whether the account holds a newer token than this sink last received."""
        return self.account_generation is not None and self.delivered_generation < self.account_generation

    @property
    def failing(self) -> bool:
        """Whether the latest attempt failed (a damaged sink counts: it is never delivered)."""
        return self.failures > 0

    @property
    def state(self) -> str:
        """One word for listings: failing, pending, delivered, or orphaned."""
        if self.account_generation is None:
            return "orphaned"
        if self.failing:
            return "failing"
        return "pending" if self.pending else "delivered"


__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_VAR",
    "FORMATS",
    "KINDS",
    "ConfigError",
    "FileFormat",
    "Sink",
    "SinkConfig",
    "SinkInputError",
    "SinkKind",
    "sink_config",
]
