"""`igtui init`, `igtui passwd`, `igtui info`: the store's life cycle."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from igtui.commands._common import err, open_store, print_json, session

if TYPE_CHECKING:
    from igtui.core.crypto import KdfParams
    from igtui.core.errors import StoreError
    from igtui.core.secret import Secret


def _kdf_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kdf-memory", type=int, metavar="KIB", help="Argon2id memory in KiB (default 65536 = 64 MiB)")
    parser.add_argument("--kdf-iterations", type=int, metavar="N", help="Argon2id iterations (default 3)")
    parser.add_argument("--kdf-lanes", type=int, metavar="N", help="Argon2id lanes (default 4)")


def _kdf_from(args: argparse.Namespace, base: KdfParams | None = None) -> KdfParams | None:
    from igtui.core.crypto import KdfParams

    if args.kdf_memory is None and args.kdf_iterations is None and args.kdf_lanes is None:
        return base
    start = base if isinstance(base, KdfParams) else KdfParams.DEFAULT
    return KdfParams(
        args.kdf_memory if args.kdf_memory is not None else start.memory_kib,
        args.kdf_iterations if args.kdf_iterations is not None else start.iterations,
        args.kdf_lanes if args.kdf_lanes is not None else start.lanes,
    )


def cmd_init(args: argparse.Namespace) -> int:
    """Create the store. Everything that can refuse without the passphrase refuses first."""
    from igtui.core.crypto import KdfParams
    from igtui.core.errors import StoreError, ValidationError
    from igtui.core.passphrase import check_new_passphrase
    from igtui.core.paths import check_private_dir, shell_quote
    from igtui.core.store import Store

    wiring = session(args)
    paths = wiring.paths
    database = paths.database
    # Typing a new passphrase twice only to hear that a store exists (or that the directory is
    # open to others) wastes the user's care: these need no passphrase, so they come first.
    if os.path.lexists(database):
        raise StoreError(f"a store already exists at {shell_quote(database)}; igtui will not overwrite it")
    if database.parent.is_dir():
        check_private_dir(database.parent)
    kdf = _kdf_from(args) or KdfParams.DEFAULT
    problem = kdf.problem()
    if problem:
        raise ValidationError(problem)
    # `check` refuses a too-short prompted passphrase before "Repeat:"; the second call covers
    # the other sources (environment, file, command) and yields the hint for a weak one.
    passphrase = wiring.passphrase(confirm=True, prompt="New passphrase: ", check=check_new_passphrase)
    hint = check_new_passphrase(passphrase)
    Store.create(database, passphrase, kdf=kdf)
    if hint:
        err(f"igtui: {hint}")
    err(f"igtui: created an encrypted store at {database}")
    return 0


def _new_passphrase(args: argparse.Namespace, *, prompt_allowed: bool) -> Secret | None:
    """The new passphrase for `passwd` from IGTUI_NEW_PASSPHRASE, --new-passphrase-file or a prompt.

    It must come from a second source (the current one opens the store). Returns None when only
    the prompt is left and `prompt_allowed` is false (it is asked after the unlock).
    """
    from igtui.core.errors import StoreLocked
    from igtui.core.passphrase import check_new_passphrase, get_passphrase, read_passphrase_file
    from igtui.core.secret import Secret

    new_env = os.environ.get("IGTUI_NEW_PASSPHRASE")
    if new_env:
        return Secret(new_env)
    if args.new_passphrase_file:
        return read_passphrase_file(args.new_passphrase_file)
    if not prompt_allowed:
        return None
    try:
        return get_passphrase(environ={}, confirm=True, prompt="New passphrase: ", check=check_new_passphrase)
    except StoreLocked:
        raise StoreLocked(
            "no new passphrase: set IGTUI_NEW_PASSPHRASE, pass --new-passphrase-file, or run in a terminal"
        ) from None


def cmd_passwd(args: argparse.Namespace) -> int:
    """Change the passphrase; a new one from a variable or file is checked before the slow unlock."""
    from igtui.core.passphrase import check_new_passphrase

    new = _new_passphrase(args, prompt_allowed=False)
    if new is not None:
        check_new_passphrase(new)
    store = open_store(args, unlock=True)
    if new is None:
        new = _new_passphrase(args, prompt_allowed=True)
        assert new is not None
    hint = check_new_passphrase(new)
    store.change_passphrase(new, kdf=_kdf_from(args, None))
    if hint:
        err(f"igtui: {hint}")
    err("igtui: passphrase changed")
    return 0


def _store_problem(exc: StoreError) -> str:
    """A few words for `info`'s store line; the full message follows on stderr."""
    from igtui.core.errors import InsecurePermissions, StoreDamaged, StoreTooNew

    if isinstance(exc, StoreDamaged):
        return "damaged"
    if isinstance(exc, StoreTooNew):
        return "written by a newer igtui"
    if isinstance(exc, InsecurePermissions):
        return "refused (its permissions are too open)"
    return "cannot be opened"


def _executable() -> str | None:
    """The absolute path of the `igtui` command this is, for cron lines and systemd units.

    cron runs with PATH=/usr/bin:/bin and no virtualenv, so a bare `igtui` there is "not found";
    the README tells users to paste this path instead.
    """
    import shutil
    from pathlib import Path

    argv0 = Path(sys.argv[0])
    if argv0.name == "igtui" and argv0.exists():
        return str(argv0.resolve())
    found = shutil.which("igtui")
    return str(Path(found).resolve()) if found else None


def cmd_info(args: argparse.Namespace) -> int:
    """Version, paths and the store's facts; a store that cannot be read still gets the first two.

    `info` is what a bug report asks for, and the broken store is when it is needed most: the
    version and paths are printed whatever the store's state, then the store's own error
    (exit 3). A missing store is no error here (exit 0).
    """
    from igtui import __version__
    from igtui.core.errors import StoreError, StoreMissing

    wiring = session(args)
    paths = wiring.paths
    data: dict[str, object] = {
        "version": __version__,
        "python": sys.version.split()[0],
        "paths": {"home": str(paths.home), "database": str(paths.database), "store_file": str(wiring.store_file),
                  "locks_dir": str(wiring.locks_dir)},
        "executable": _executable(),
        "notify_command_set": wiring.notify_command is not None,
    }
    problem: StoreError | None = None
    try:
        store = wiring.open_store(unlock=False)
        info = store.info()
    except StoreMissing:
        data["store"] = None
    except StoreError as exc:
        problem = exc
        data["store"] = None
        data["store_error"] = {"kind": type(exc).__name__, "message": exc.message}
    else:
        info.pop("unlocked", None)
        data["store"] = info
    if args.json:
        print_json(data)
        if problem is not None:
            raise problem
        return 0
    print(f"igtui {data['version']} (Python {data['python']})")
    print(f"home:      {paths.home}")
    print(f"database:  {paths.database}")
    print(f"locks:     {wiring.locks_dir}")
    print(f"command:   {data['executable'] or 'igtui (not found on PATH)'}")
    if problem is not None:
        print(f"store:     {_store_problem(problem)} (see the message below)")
        sys.stdout.flush()
        raise problem
    store_info = data["store"]
    if store_info is None:
        print("store:     none yet (run `igtui init`)")
        return 0
    assert isinstance(store_info, dict)
    kdf = store_info["kdf"]
    counts = store_info["counts"]
    print(f"schema:    {store_info['schema_version']} ({store_info['journal_mode']})")
    print(f"kdf:       argon2id memory={kdf['memory_kib']} KiB iterations={kdf['iterations']} lanes={kdf['lanes']}")
    print("counts:    " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `init`, `passwd` and `info`, the commands about the store itself."""
    p = subparsers.add_parser(
        "init",
        help="create the encrypted store",
        description="Create the encrypted store (refuses to overwrite an existing one). The passphrase comes from "
        "IGTUI_PASSPHRASE, --passphrase-file, IGTUI_PASSPHRASE_COMMAND, or a prompt (asked twice); it must be at "
        "least 8 characters, and a hint follows for a short one (16+ characters, e.g. four random words, is better).",
    )
    _kdf_options(p)
    p.set_defaults(func=cmd_init)

    p = subparsers.add_parser(
        "passwd",
        help="change the store passphrase",
        description="Change the passphrase by re-wrapping the data key in one transaction (secrets are untouched). "
        "The new passphrase is prompted twice, or read from IGTUI_NEW_PASSPHRASE or --new-passphrase-file.",
    )
    _kdf_options(p)
    p.add_argument(
        "--new-passphrase-file", metavar="FILE", help="read the new passphrase from FILE (readable only by you)"
    )
    p.set_defaults(func=cmd_passwd)

    p = subparsers.add_parser(
        "info",
        help="show version, paths, KDF parameters and counts (never a secret)",
        description="Show igtui's version, paths, the store's KDF parameters and row counts. Needs no passphrase. "
        "A store that cannot be read still gets the version and paths, then its error (exit 3).",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)
