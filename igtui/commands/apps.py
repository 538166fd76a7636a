"""`igtui app add|list|show|edit|remove`: the registry of Meta apps.

An app secret is read from a no-echo prompt or from stdin (`--secret-stdin`), never from an
argument: arguments show up in `ps` and shell history.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from igtui.commands._common import add_group, confirm, err, open_store, print_json, print_table, session

if TYPE_CHECKING:
    from igtui.core.models import App
    from igtui.core.secret import Secret

APP_ID_HELP = (
    "numeric app id. For --platform instagram this is the *Instagram* App ID (App Dashboard > Instagram > "
    "API setup with Instagram login), NOT the Meta App ID shown at the top of the dashboard; for --platform "
    "facebook it is the Meta App ID"
)


def _read_secret(args: argparse.Namespace) -> Secret:
    from igtui.core.errors import UsageError, ValidationError
    from igtui.core.secret import Secret

    if args.secret_stdin:
        raw = sys.stdin.read()
        if raw.endswith("\r\n"):
            raw = raw[:-2]
        elif raw.endswith("\n"):
            raw = raw[:-1]
        if not raw:
            raise ValidationError("no app secret on stdin")
        if "\n" in raw:
            raise ValidationError("the app secret on stdin must be one line")
        return Secret(raw)
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError("no app secret: pipe it with --secret-stdin, or run in a terminal to be prompted")
    import getpass

    try:
        value = getpass.getpass("App secret: ")
    except EOFError:
        value = ""
    if not value:
        raise ValidationError("the app secret must not be empty")
    return Secret(value)


def _scopes_arg(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from igtui.core.scopes import parse_scope_list

    return parse_scope_list(text)


def _app_dict(app: App, *, accounts: int | None = None, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": app.name,
        "platform": app.platform,
        "app_id": app.app_id,
        "redirect_uris": list(app.redirect_uris),
        "scopes": list(app.scopes),
        "graph_version": app.graph_version,
        "base_url": app.base_url,
        "refresh_within_days": app.refresh_within_days,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
        "state": "blocked" if app.blocked_kind is not None else "ok",
        "blocked_kind": app.blocked_kind,
        "blocked_reason": app.blocked_reason,
        "blocked_at": app.blocked_at,
    }
    if accounts is not None:
        data["accounts"] = accounts
    if secret is not None:
        data["secret"] = secret
    return data


def cmd_add(args: argparse.Namespace) -> int:
    """`igtui app add`: register a Meta app with its secret.

    Every value is validated before the secret is asked for, so a typo costs no passphrase
    and no secret typed twice.
    """
    from igtui.core.models import DEFAULT_GRAPH_VERSION
    from igtui.core.scopes import required_scopes, validate_scopes
    from igtui.core.store import validation as v

    # Validate everything before asking for anything secret.
    v.validate_name(args.name)
    platform = v.validate_platform(args.platform)
    v.validate_app_id(args.app_id)
    v.validate_redirect_uris(args.redirect_uri or [])
    scopes = _scopes_arg(args.scopes)
    scopes = list(validate_scopes(platform, scopes)) if scopes is not None else list(required_scopes(platform))
    graph_version = v.validate_graph_version(args.graph_version or DEFAULT_GRAPH_VERSION)
    v.validate_base_url(args.base_url)
    v.validate_refresh_within(args.refresh_within)
    wiring = session(args)
    store = wiring.open_store(unlock=False)
    secret = _read_secret(args)
    wiring.unlock(store)
    app = store.add_app(
        name=args.name,
        platform=platform,
        app_id=args.app_id,
        redirect_uris=args.redirect_uri,
        scopes=scopes,
        secret=secret,
        graph_version=graph_version,
        base_url=args.base_url,
        refresh_within_days=args.refresh_within,
    )
    err(f"igtui: added app {app.name} ({app.platform}, app id {app.app_id})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """`igtui app list`: every app, its state and account count, from metadata (no passphrase)."""
    store = open_store(args, unlock=False)
    apps = store.list_apps()
    counts = store.account_counts()
    if args.json:
        print_json([_app_dict(app, accounts=counts.get(app.name, 0)) for app in apps])
        return 0
    if not apps:
        err("igtui: no apps yet (add one with `igtui app add`)")
        return 0
    print_table(
        ["NAME", "PLATFORM", "APP ID", "STATE", "ACCOUNTS", "SCOPES", "BASE URL"],
        [
            [a.name, a.platform, a.app_id, "BLOCKED" if a.blocked_kind else "ok", counts.get(a.name, 0),
             ",".join(a.scopes), a.base_url or ""]
            for a in apps
        ],
    )
    for a in apps:
        if a.blocked_kind is not None:
            from igtui.core.safetext import plain

            err(plain(f"igtui: app {a.name} is blocked by Meta: {a.blocked_reason or a.blocked_kind}", limit=1000))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """`igtui app show`: one app in full, its secret masked.

    It unlocks the store anyway: decrypting the secret proves it still opens, and a damaged one
    is named here rather than at the next login.
    """
    store = open_store(args, unlock=True)
    app = store.get_app(args.name)
    # Decrypting proves the stored secret opens (a damaged one is named); none of it is shown,
    # not even a prefix (an app secret has no "kind" prefix worth showing), nor its length.
    masked = "•" * 8 if store.app_secret(app.name) else "(empty)"
    counts = store.account_counts()
    data = _app_dict(app, accounts=counts.get(app.name, 0), secret=masked)
    if args.json:
        print_json(data)
        return 0
    from igtui.core.clock import iso
    from igtui.core.safetext import plain

    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(value)
        elif key.endswith("_at"):
            value = iso(value)
        print(f"{key + ':':22}{plain('' if value is None else value)}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    """`igtui app edit`: change only the fields given.

    The passphrase is asked for only when the secret changes; every other field is plain
    metadata.
    """
    from igtui.core.store import UNSET

    changes: dict[str, Any] = {}
    if args.new_name is not None:
        changes["new_name"] = args.new_name
    if args.app_id is not None:
        changes["app_id"] = args.app_id
    if args.redirect_uri:
        changes["redirect_uris"] = args.redirect_uri
    if args.scopes is not None:
        changes["scopes"] = _scopes_arg(args.scopes)
    if args.graph_version is not None:
        changes["graph_version"] = args.graph_version
    if args.base_url is not None:
        changes["base_url"] = args.base_url or None
    if args.refresh_within is not None:
        changes["refresh_within_days"] = args.refresh_within or None
    if not changes and not args.secret_stdin and not args.secret:
        from igtui.core.errors import UsageError

        raise UsageError("nothing to change (see 'igtui app edit --help')")
    need_secret = bool(args.secret_stdin or args.secret)
    wiring = session(args)
    store = wiring.open_store(unlock=False)
    store.get_app(args.name)  # NotFound before any prompt
    secret = None
    if need_secret:
        secret = _read_secret(args)
    # A change to a column under the app's MAC (name, app id, redirect URIs, Graph version, base
    # URL, secret) needs the key: the MAC is recomputed, after the old one is checked.
    if need_secret or {"new_name", "app_id", "redirect_uris", "graph_version", "base_url"} & changes.keys():
        wiring.unlock(store)
    app = store.update_app(args.name, secret=secret, **{k: changes.get(k, UNSET) for k in (
        "new_name", "app_id", "redirect_uris", "scopes", "graph_version", "base_url", "refresh_within_days")})
    err(f"igtui: updated app {app.name}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """`igtui app remove`: delete an app with its accounts and tokens, after a confirmation naming the count."""
    store = open_store(args, unlock=False)
    app = store.get_app(args.name)
    count = store.account_counts().get(app.name, 0)
    question = f"Remove app {app.name} and its {count} account(s) and their tokens?"
    if not confirm(question, args.yes):
        err("igtui: nothing removed")
        return 1
    store.remove_app(app.name)
    err(f"igtui: removed app {app.name}")
    return 0


def _app_options(p: argparse.ArgumentParser, *, editing: bool) -> None:
    p.add_argument("--app-id", required=not editing, metavar="ID", help=APP_ID_HELP)
    p.add_argument(
        "--redirect-uri",
        action="append",
        required=not editing,
        metavar="URI",
        help="absolute http(s) redirect URI registered with Meta; repeat for several"
        + (" (replaces the list)" if editing else ""),
    )
    p.add_argument(
        "--scopes",
        metavar="A,B",
        help="default scopes for new logins, comma-separated (default: the platform's required scope)",
    )
    p.add_argument("--graph-version", metavar="vNN.0", help="Graph API version (default v25.0)")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="send every Meta host (www/api/graph.instagram.com, www/graph.facebook.com) to this one origin "
        "(sandbox, proxies)" + ("; '' clears it" if editing else ""),
    )
    p.add_argument(
        "--refresh-within",
        type=int,
        metavar="DAYS",
        help="refresh this app's tokens when fewer than DAYS remain (default 15)"
        + ("; 0 clears it" if editing else ""),
    )
    p.add_argument("--secret-stdin", action="store_true", help="read the app secret from stdin instead of a prompt")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `app add`, `app list`, `app show`, `app edit` and `app remove`."""
    apps = add_group(subparsers, "app", help="register and manage Meta apps")

    p = apps.add_parser(
        "add",
        help="register a Meta app (the secret is prompted, or read with --secret-stdin)",
        description="Register a Meta app. The app secret is read from a no-echo prompt or, with --secret-stdin, "
        "from stdin — never from an argument. Note: for Instagram Login the app id is the Instagram App ID, "
        "not the Meta App ID.",
    )
    p.add_argument("name", help="a short name for this app (letters, digits, . _ -)")
    p.add_argument("--platform", required=True, choices=["instagram", "facebook"], help="which Meta login the app uses")
    _app_options(p, editing=False)
    p.set_defaults(func=cmd_add)

    p = apps.add_parser("list", help="list registered apps (no passphrase needed)", description="List registered apps.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = apps.add_parser(
        "show", help="show one app with its secret masked", description="Show one app (unlocks to mask the secret)."
    )
    p.add_argument("name", help="the app's name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_show)

    p = apps.add_parser(
        "edit",
        help="change an app's settings or secret",
        description="Change an app's settings. Only the options given change. --secret-stdin (or --secret to be "
        "prompted) replaces the secret.",
    )
    p.add_argument("name", help="the app's current name")
    p.add_argument("--name", dest="new_name", metavar="NEW", help="rename the app")
    _app_options(p, editing=True)
    p.add_argument("--secret", action="store_true", help="prompt for a new app secret")
    p.set_defaults(func=cmd_edit)

    p = apps.add_parser(
        "remove",
        help="remove an app with its accounts (asks first)",
        description="Remove an app together with its accounts, tokens and pending logins. Asks first.",
    )
    p.add_argument("name", help="the app's name")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_remove)
