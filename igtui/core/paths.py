"""Where igtui keeps its files, and the permission rules those files must obey.

One place resolves paths (platformdirs, or `IGTUI_HOME`, or `--store`), so that the CLI, the TUI
and the tests agree. Nothing is created by `resolve_paths`; `ensure_home` and `precreate_file` do
that explicitly, because a store must be born private: SQLite creates its file 0644 under the
usual umask and the -wal/-shm files copy the database's mode, so the file is created 0600 by us
*before* SQLite ever opens it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from igtui.core.errors import InsecurePermissions, StoreError

DB_NAME = "igtui.db"


@dataclass(frozen=True, slots=True)
class Paths:
    """Where igtui keeps its files."""

    home: Path
    """`IGTUI_HOME`, or platformdirs' user data dir for "igtui"."""
    database: Path
    """The encrypted SQLite store (`home/igtui.db` unless `--store` picks another file)."""
    locks_dir: Path
    """Lock files for the refresh engine (never the database's own files)."""


def resolve_paths(environ: Mapping[str, str] = os.environ, store: Path | str | None = None) -> Paths:
    """Return the paths igtui should use; creates nothing.

    Args:
        environ: The environment (injected for tests). `IGTUI_HOME=DIR` roots everything in DIR.
        store: `--store PATH`: use this database file instead of `home/igtui.db`.
    """
    home_env = environ.get("IGTUI_HOME")
    if home_env:
        home = Path(home_env).expanduser()
    else:
        import platformdirs  # lazy: only needed when IGTUI_HOME is unset

        home = platformdirs.user_data_path("igtui")
    home = home.absolute()
    database = Path(store).expanduser().absolute() if store else home / DB_NAME
    return Paths(home=home, database=database, locks_dir=home / "locks")


def shell_quote(path: Path | str) -> str:
    """Always single-quote, so the printed fix can be pasted verbatim whatever the path holds."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def check_private_dir(directory: Path) -> None:
    """Refuse a store directory that is a symlink, owned by someone else, or writable by others.

    Raises:
        InsecurePermissions: with the exact command that fixes it.
        StoreError: when the directory cannot be examined at all.
    """
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot examine the store directory {shell_quote(directory)}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InsecurePermissions(
            f"the store directory {shell_quote(directory)} is a symlink; igtui will not follow it — "
            f"point IGTUI_HOME or --store at the real directory"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{shell_quote(directory)} is not a directory")
    refuse_foreign_or_loose(st, directory, what="the store directory", mask=0o022, mode="700",
                            problem="writable by other users")


def refuse_foreign_or_loose(
    st: os.stat_result, path: Path, *, what: str, mask: int, mode: str, problem: str
) -> None:
    """Refuse something of igtui's that another user owns or that `mask` says is open to others.

    The message names the exact `chown`/`chmod` that fixes it, the way 1Password's CLI does: a
    refusal the user cannot act on would only teach them to work around it.

    Args:
        st: Its `lstat`/`fstat` result.
        path: Its path, for the message.
        what: How to name it ("the store directory").
        mask: Mode bits that must be clear (0o022 for a directory, 0o077 for a secret file).
        mode: The mode the fix sets ("700", "600").
        problem: What the loose bits mean, in words ("writable by other users").
    """
    if st.st_uid != os.getuid():
        raise InsecurePermissions(
            f"{what} {shell_quote(path)} is owned by uid {st.st_uid}, not you; "
            f"fix: chown {os.getuid()} {shell_quote(path)} && chmod {mode} {shell_quote(path)}"
        )
    if st.st_mode & mask:
        raise InsecurePermissions(
            f"{what} {shell_quote(path)} is {problem} "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); fix: chmod {mode} {shell_quote(path)}"
        )


def check_private_file(path: Path) -> None:
    """Refuse a database file that is a symlink, someone else's, or readable/writable by others."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot examine {shell_quote(path)}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InsecurePermissions(f"the store file {shell_quote(path)} is a symlink; igtui will not follow it")
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{shell_quote(path)} is not a regular file")
    refuse_foreign_or_loose(st, path, what="the store file", mask=0o077, mode="600",
                            problem="open to other users")


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` (and parents) with mode 0700 if missing, then check it.

    Parents that already exist are left alone; the leaf is chmod-ed to 0700 only when we created
    it (an existing loose directory is refused with the fix, never silently changed).
    """
    if not directory.exists():
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask; make it exact
        except OSError as exc:
            raise StoreError(f"cannot create {shell_quote(directory)}: {exc.strerror}") from None
    check_private_dir(directory)


def precreate_file(path: Path) -> None:
    """Create an empty file 0600 with O_EXCL, so it is private from its first byte.

    Raises:
        StoreError: if it already exists (an existing store is never overwritten) or cannot be made.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise StoreError(f"{shell_quote(path)} already exists; igtui will not overwrite it") from None
    except OSError as exc:
        raise StoreError(f"cannot create {shell_quote(path)}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


__all__ = [
    "DB_NAME",
    "Paths",
    "check_private_dir",
    "check_private_file",
    "ensure_private_dir",
    "precreate_file",
    "resolve_paths",
    "shell_quote",
]
