"""File sinks: the token written atomically, in one of three renderings.

Why this way:

* **A reader never sees a partial file.** The new content goes to a temporary file in the same
  directory (created `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600, so it can neither be a planted
  symlink nor someone else's file), is fsynced, renamed over the target, and the directory is
  fsynced: after a crash the target holds the old content or the new, never a mix. A temporary
  file a crash left behind is removed by the next write. A delivery pass that writes several
  files defers the directory fsync (`pending_dirs`) and syncs each directory once
  (`sync_dirs`) before the pass records any delivery: a rename is durable before igtui says it
  happened, and three sinks in one directory cost one directory fsync, not three.
* **Only the one variable changes.** In an existing dotenv file every other line, comment,
  line ending (CRLF too) and a missing final newline are kept byte for byte; the variable's
  line keeps its `export ` prefix and quote style. A variable that is absent is appended.
* **A symlinked target is refused**, not followed or replaced: replacing the link with a file
  would silently stop updating the file it pointed to, and following it would let whoever can
  plant a link choose where a token is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable

from igtui.core.errors import IgtuiError

MAX_EXISTING_BYTES = 1024 * 1024
"""An existing dotenv or JSON file larger than this is refused rather than read."""
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._\-|~+/=]{1,8192}$")
"""What a token may look like to be written into a file (no quote, space, newline, `#`, `$`)."""
_TMP_MARK = ".igtui-"
_TMP_SUFFIX = ".tmp"
CRASHPOINT_ENV = "IGTUI_CRASHPOINT"


class DeliveryError(IgtuiError):
    """A delivery failed; the message is one redacted line that says what to fix."""

    def __init__(self, message: str, *, output: str | None = None) -> None:
        super().__init__(message)
        self.output = output
        """A command sink's captured output (redacted), kept with the failure in history."""


def crashpoint(name: str) -> None:
    """SIGKILL this process here when IGTUI_CRASHPOINT names this point (crash trials only).

    Why: the crash trials kill a real delivery between storing a token and every step of
    writing it out, then check that no file sink is partial and the delivery is still pending.
    """
    if os.environ.get(CRASHPOINT_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def check_token(token: str) -> None:
    """Refuse a token that could break out of its line or value (it never does from Meta)."""
    if not _TOKEN_RE.match(token):
        raise DeliveryError("the token holds characters a file sink cannot carry safely; nothing was written")


def _read_existing(path: str) -> bytes | None:
    """The target's bytes, None when it does not exist; refuses links and non-files."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DeliveryError(f"cannot look at {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise DeliveryError(f"{path} is a symbolic link; point the sink at the file itself")
    if not stat.S_ISREG(st.st_mode):
        raise DeliveryError(f"{path} is not a regular file")
    if st.st_size > MAX_EXISTING_BYTES:
        raise DeliveryError(f"{path} is over {MAX_EXISTING_BYTES // 1024} KiB; refusing to rewrite it")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise DeliveryError(f"cannot read {path}: {exc.strerror}") from None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


_ENDINGS = (b"\r\n", b"\n", b"\r")


def _split_ending(line: bytes) -> tuple[bytes, bytes]:
    for ending in _ENDINGS:
        if line.endswith(ending):
            return line[: -len(ending)], ending
    return line, b""


def render_dotenv(existing: bytes | None, var: str, token: str) -> bytes:
    """`existing` with `VAR=token` on the variable's line(s), every other byte kept; appended if absent.

    Every line that assigns the variable is updated (a dotenv reader may take the first or the
    last), keeping its indentation, `export ` prefix and quote character.
    """
    value = token.encode()
    if not existing:
        return var.encode() + b"=" + value + b"\n"
    pattern = re.compile(rb"^([ \t]*(?:export[ \t]+)?" + re.escape(var.encode()) + rb"[ \t]*=[ \t]*)(.*)$", re.S)
    out: list[bytes] = []
    found = False
    for line in existing.splitlines(keepends=True):
        body, ending = _split_ending(line)
        m = pattern.match(body)
        if m is None:
            out.append(line)
            continue
        found = True
        old = m.group(2)
        quote = old[:1] if old[:1] in (b'"', b"'") else b""
        out.append(m.group(1) + quote + value + quote + ending)
    if not found:
        newline = b"\r\n" if b"\r\n" in existing else b"\n"
        if not existing.endswith((b"\n", b"\r")):
            out.append(newline)
        out.append(var.encode() + b"=" + value + newline)
    return b"".join(out)


def render_json(existing: bytes | None, var: str, token: str, path: str) -> bytes:
    """An existing JSON object with one key set to the token, or `{"VAR": token}`."""
    data: dict[str, object] = {}
    if existing and existing.strip():
        try:
            loaded = json.loads(existing.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise DeliveryError(f"{path} is not JSON; refusing to overwrite it") from None
        if not isinstance(loaded, dict):
            raise DeliveryError(f"{path} holds JSON that is not an object; refusing to overwrite it")
        data = loaded
    data[var] = token
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def render(fmt: str, existing: bytes | None, var: str | None, token: str, path: str) -> bytes:
    """The file's new content for `fmt` (dotenv, json, raw: the token's bytes alone)."""
    if fmt == "raw":
        return token.encode()
    assert var is not None  # SinkConfig.problem requires it for dotenv and json
    if fmt == "json":
        return render_json(existing, var, token, path)
    return render_dotenv(existing, var, token)


def _remove_stale_temps(directory: str, base: str) -> None:
    """Temporary files of this target that a killed delivery left behind (ours by name only)."""
    prefix = f".{base}{_TMP_MARK}"
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def sync_dir(directory: str) -> None:
    """fsync a directory, so the renames in it survive a crash (best effort: some filesystems
    refuse a directory fsync; the rename itself is atomic either way)."""
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def sync_dirs(directories: Iterable[str]) -> None:
    """`sync_dir` each directory once (a pass's deferred syncs, before its deliveries are recorded)."""
    for directory in sorted(set(directories)):
        sync_dir(directory)


def atomic_write(path: str, data: bytes, *, pending_dirs: set[str] | None = None) -> None:
    """Replace `path` with `data`: temp file (O_EXCL|O_NOFOLLOW, 0600), fsync, rename, fsync dir.

    Args:
        pending_dirs: When given, the directory is added to it instead of fsynced here; the
            caller must `sync_dirs` it before it records the write as done.
    """
    directory, base = os.path.split(path)
    if not os.path.isdir(directory):
        raise DeliveryError(f"the directory of {path} does not exist")
    _remove_stale_temps(directory, base)
    tmp = os.path.join(directory, f".{base}{_TMP_MARK}{secrets.token_hex(6)}{_TMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise DeliveryError(f"cannot write in the directory of {path}: {exc.strerror}") from None
    try:
        try:
            os.fchmod(fd, 0o600)
            half = len(data) // 2
            _write_all(fd, data[:half])
            crashpoint("sink_mid_write")  # half the bytes are in the temporary file, none in the target
            _write_all(fd, data[half:])
            os.fsync(fd)
        finally:
            os.close(fd)
        crashpoint("sink_before_rename")
        os.rename(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise DeliveryError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    crashpoint("sink_after_rename")
    if pending_dirs is None:
        sync_dir(directory)
    else:
        pending_dirs.add(directory)


def write_file_sink(path: str, fmt: str, var: str | None, token: str, *, pending_dirs: set[str] | None = None) -> None:
    """Deliver `token` to a file sink (see the module docstring for every guarantee; `pending_dirs`
    as in `atomic_write`)."""
    check_token(token)
    existing = _read_existing(path)  # raw ignores the content, but a link or a directory is refused alike
    atomic_write(path, render(fmt, existing, var, token, path), pending_dirs=pending_dirs)


__all__ = ["DeliveryError", "atomic_write", "check_token", "crashpoint", "render", "render_dotenv",
           "render_json", "sync_dir", "sync_dirs", "write_file_sink"]
