"""Where igtui keeps its files, and the permission rules those files must obey.

One place resolves paths (platformdirs, or `IGTUI_HOME`, or `--store`), so that the CLI, the TUI
and the tests agree. Nothing is created by `resolve_paths`; `ensure_private_dir` and
`precreate_file` do that explicitly, because a store must be born private: SQLite creates its file
0644 under the usual umask and the -wal/-shm files copy the database's mode, so the file is created
0600 by us *before* SQLite ever opens it.

One rule for every directory igtui makes or writes in (the store's, the lock directory and the
one holding it): every directory it creates is 0700 whatever the umask, parents included; an
existing one must be ours and not writable by group or others, or it is refused with the
`chmod`/`chown` that fixes it; and the files in it are opened with O_NOFOLLOW and O_CLOEXEC
relative to the checked directory (`open_private_dir`, `open_private_file`). SECURITY.md says
which attacker this stops.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from igtui.core.errors import InsecurePermissions, StoreError, UsageError

DB_NAME = "igtui.db"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class Paths(NamedTuple):
    """Where igtui keeps its files.

    A NamedTuple, not a dataclass: this module is imported before the key derivation can start
    (igtui.core.keyahead), and `dataclasses` costs ~15 ms to import.
    """

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
        home = _expanded(home_env, "IGTUI_HOME")
    else:
        import platformdirs  # lazy: only needed when IGTUI_HOME is unset

        home = platformdirs.user_data_path("igtui")
    home = home.absolute()
    database = _expanded(store, "--store").absolute() if store else home / DB_NAME
    return Paths(home=home, database=database, locks_dir=home / "locks")


def _expanded(path: Path | str, what: str) -> Path:
    """`path` with a leading `~` or `~user` expanded; a UsageError when that user or HOME is unknown."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise UsageError(f"{what} {shell_quote(path)}: cannot expand '~' (no such user, or HOME is not set)") from None


def shell_quote(path: Path | str) -> str:
    """Always single-quote, so the printed fix can be pasted verbatim whatever the path holds."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def check_private_dir(
    directory: Path,
    *,
    what: str = "the store directory",
    if_symlink: str = "point IGTUI_HOME or --store at the real directory",
) -> None:
    """Refuse a directory of igtui's that is a symlink, owned by someone else, or writable by others.

    Why one rule for every directory (the store's, the lock directory and the one that holds it):
    whoever can write to a directory can replace what igtui opens in it.

    Args:
        directory: The directory; a missing one passes (it is made 0700 when it is needed).
        what: How the message names it.
        if_symlink: The fix when it is a symlink.

    Raises:
        InsecurePermissions: with the exact command that fixes it.
        StoreError: when the directory cannot be examined at all.
    """
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot examine {what} {shell_quote(directory)}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InsecurePermissions(
            f"{what} {shell_quote(directory)} is a symlink; igtui will not follow it — {if_symlink}"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{what} {shell_quote(directory)} is not a directory")
    refuse_foreign_or_loose(st, directory, what=what, mask=0o022, mode="700", problem="writable by other users")


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


def make_private_dirs(directory: Path) -> list[Path]:
    """Create each missing directory on the way to `directory`, one by one, each exactly 0700.

    Why not `Path.mkdir(parents=True)`: it gives the parents the umask's mode (0777 under umask
    000), and only the leaf the mode asked for. Each directory made here is chmod-ed through a
    descriptor opened with O_NOFOLLOW, so the umask cannot loosen it and a link swapped in after
    the mkdir is not followed. Directories that already existed are left exactly as they were;
    one another igtui made at the same moment counts as existing.

    Returns:
        The directories this call created, outermost first.

    Raises:
        StoreError: one cannot be created (the OS's words), or something not a directory is in the way.
    """
    missing: list[Path] = []
    here = Path(directory)
    while not os.path.lexists(here) and here != here.parent:
        missing.append(here)
        here = here.parent
    made: list[Path] = []
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StoreError(f"cannot create {shell_quote(path)}: {exc.strerror}") from None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except OSError as exc:
            raise StoreError(f"cannot create {shell_quote(path)}: {exc.strerror}") from None
        try:
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
        made.append(path)
    return made


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents, each 0700, then check it.

    An existing directory (the leaf or a parent) is never changed: a loose leaf is refused with
    the fix, never silently tightened.
    """
    make_private_dirs(directory)
    check_private_dir(directory)


LOCKS_WHAT = "the lock directory"
LOCKS_IF_SYMLINK = "fix: rm {path} (igtui then makes a private directory)"


def open_private_dir(directory: Path, *, create: bool, what: str = LOCKS_WHAT) -> int | None:
    """Open a directory of igtui's and check it on the descriptor: ours, and no group/other write.

    Why a descriptor: the files in it are then opened relative to the directory that was checked
    (`open_private_file`), so nothing can swap the directory between the check and the open. The
    directory that holds it is checked too (by path: it is igtui's as well — the store directory,
    or `DIR/locks` above a `store-<digest>` lock directory), since whoever can write there can
    replace the directory itself.

    Args:
        directory: The directory (made 0700, with its missing parents, when `create`).
        create: False for readers: a missing directory is then None, and nothing is made.
        what: How messages name it.

    Returns:
        An O_DIRECTORY descriptor (the caller closes it), or None when missing and not `create`.

    Raises:
        InsecurePermissions: a symlink, another user's, or writable by others (with the fix).
        StoreError: not a directory, or the OS refuses.
    """
    directory = Path(directory)
    check_private_dir(directory.parent, what=f"the directory holding {what}",
                      if_symlink=LOCKS_IF_SYMLINK.format(path=shell_quote(directory.parent)))
    if create:
        make_private_dirs(directory)
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        if create:
            raise StoreError(f"{what} {shell_quote(directory)} vanished while igtui made it; try again") from None
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(directory):
            raise InsecurePermissions(
                f"{what} {shell_quote(directory)} is a symlink; igtui will not follow it — "
                + LOCKS_IF_SYMLINK.format(path=shell_quote(directory))
            ) from None
        if exc.errno == errno.ENOTDIR:
            raise StoreError(
                f"{what} {shell_quote(directory)} is not a directory; fix: rm {shell_quote(directory)}"
            ) from None
        raise StoreError(f"cannot open {what} {shell_quote(directory)}: {exc.strerror}") from None
    try:
        refuse_foreign_or_loose(os.fstat(fd), directory, what=what, mask=0o022, mode="700",
                                problem="writable by other users")
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private_file(dir_fd: int, directory: Path, name: str, *, create: bool, what: str) -> int | None:
    """Open `name` in a checked directory for reading and writing, never through a link.

    O_NOFOLLOW refuses a planted symlink (the audit's `refresh-1.lock -> ~/victim`), O_CLOEXEC
    keeps the descriptor (and its flock) out of the notify command, O_NONBLOCK keeps a planted
    FIFO from hanging the open, and anything that is not a regular file is refused after it.
    A file this call creates is made with O_EXCL and chmod-ed to exactly 0600 whatever the umask;
    an existing one must be ours and not writable by others, like the directory.

    Args:
        dir_fd: The directory's descriptor, from `open_private_dir`.
        directory: Its path, for messages.
        name: A plain file name inside it.
        create: Make the file when missing (else a missing file is None).
        what: How messages name it ("the lock file").

    Returns:
        A read-write descriptor (the caller closes it), or None when missing and not `create`.

    Raises:
        InsecurePermissions: a symlink, another user's, or writable by others (with the fix).
        StoreError: not a regular file, or the OS refuses.
    """
    path = Path(directory) / name
    flags = os.O_RDWR | _NOFOLLOW | _CLOEXEC | os.O_NONBLOCK
    for _attempt in range(3):  # a file removed between the two opens is simply looked for again
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)
        except FileNotFoundError:
            if not create:
                return None
            try:
                fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dir_fd)
            except FileExistsError:
                continue  # another igtui made it (or a link appeared): look at it again
            except OSError as exc:
                raise StoreError(f"cannot create {what} {shell_quote(path)}: {exc.strerror}") from None
            try:
                os.fchmod(fd, 0o600)  # the umask may have taken bits from 0600: make it exact
            except BaseException:
                os.close(fd)
                raise
            return fd
        except OSError as exc:
            raise _refusal(exc, path, what) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StoreError(f"{what} {shell_quote(path)} is not a regular file; fix: rm -r {shell_quote(path)}")
            refuse_foreign_or_loose(st, path, what=what, mask=0o022, mode="600", problem="writable by other users")
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise StoreError(f"{what} {shell_quote(path)} keeps changing while igtui opens it; try again")


def _refusal(exc: OSError, path: Path, what: str) -> StoreError:
    """The one-line refusal for an open that failed: a link, something not a file, or the OS's words."""
    quoted = shell_quote(path)
    if exc.errno == errno.ELOOP:
        return InsecurePermissions(f"{what} {quoted} is a symlink; igtui will not follow it — fix: rm {quoted}")
    if exc.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):
        return StoreError(f"{what} {quoted} is not a regular file; fix: rm -r {quoted}")
    return StoreError(f"cannot open {what} {quoted}: {exc.strerror}")


def precreate_file(path: Path) -> None:
    """Create an empty file 0600 with O_EXCL, so it is private from its first byte.

    Raises:
        StoreError: if it already exists (an existing store is never overwritten) or cannot be made.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
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
    "make_private_dirs",
    "open_private_dir",
    "open_private_file",
    "precreate_file",
    "resolve_paths",
    "shell_quote",
]
