"""`igtui init`, `igtui passwd`, `igtui info`: the store's life cycle."""

from __future__ import annotations

import argparse
import sys

from igtui.commands._common import err, open_store, passphrase_for, paths_for, print_json


def _kdf_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kdf-memory", type=int, metavar="KIB", help="Argon2id memory in KiB (default 65536 = 64 MiB)")
    parser.add_argument("--kdf-iterations", type=int, metavar="N", help="Argon2id iterations (default 3)")
    parser.add_argument("--kdf-lanes", type=int, metavar="N", help="Argon2id lanes (default 4)")


def _kdf_from(args: argparse.Namespace, base: object | None = None):  # -> KdfParams | None
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
    from igtui.core.crypto import KdfParams
    from igtui.core.errors import ValidationError
    from igtui.core.store import Store

    paths = paths_for(args)
    kdf = _kdf_from(args) or KdfParams.DEFAULT
    problem = kdf.problem()
    if problem:
        raise ValidationError(problem)
    passphrase = passphrase_for(args, confirm=True, prompt="New passphrase: ")
    Store.create(paths.database, passphrase, kdf=kdf)
    err(f"igtui: created an encrypted store at {paths.database}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from igtui.core.unlock import get_passphrase

    store = open_store(args, unlock=True)
    # The new passphrase must come from a second source: the prompt (asked twice), or
    # IGTUI_NEW_PASSPHRASE for scripts and tests.
    import os

    from igtui.core.secret import Secret

    from igtui.core.errors import StoreLocked
    from igtui.core.unlock import read_passphrase_file

    new_env = os.environ.get("IGTUI_NEW_PASSPHRASE")
    if new_env:
        new = Secret(new_env)
    elif args.new_passphrase_file:
        new = read_passphrase_file(args.new_passphrase_file)
    else:
        try:
            new = get_passphrase(environ={}, confirm=True, prompt="New passphrase: ")
        except StoreLocked:
            raise StoreLocked(
                "no new passphrase: set IGTUI_NEW_PASSPHRASE, pass --new-passphrase-file, or run in a terminal"
            ) from None
    store.change_passphrase(new, kdf=_kdf_from(args, None))
    err("igtui: passphrase changed")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from igtui import __version__
    from igtui.core.errors import StoreMissing

    paths = paths_for(args)
    data: dict[str, object] = {
        "version": __version__,
        "python": sys.version.split()[0],
        "paths": {"home": str(paths.home), "database": str(paths.database), "locks_dir": str(paths.locks_dir)},
    }
    try:
        store = open_store(args, unlock=False)
    except StoreMissing:
        data["store"] = None
    else:
        info = store.info()
        info.pop("unlocked", None)
        data["store"] = info
    if args.json:
        print_json(data)
        return 0
    print(f"igtui {data['version']} (Python {data['python']})")
    print(f"home:      {paths.home}")
    print(f"database:  {paths.database}")
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


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "init",
        help="create the encrypted store",
        description="Create the encrypted store (refuses to overwrite an existing one). The passphrase comes from "
        "IGTUI_PASSPHRASE, --passphrase-file, IGTUI_PASSPHRASE_COMMAND, or a prompt (asked twice).",
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
        description="Show igtui's version, paths, the store's KDF parameters and row counts. Needs no passphrase.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)
