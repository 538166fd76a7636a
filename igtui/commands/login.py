"""`igtui login`: log an Instagram account in, interactively or in two halves (the SSH path).

argparse cannot offer both `login APP` and `login start APP` as subcommands, so `login` takes
free words and reads the first one: `start` and `finish` are the two halves, anything else is an
app name (see `--help`). All HTTP goes through GraphClient; its exchanges are batched into the
store's request log so that `igtui log` shows them, redacted.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from igtui.core.models import Account

DESCRIPTION = """\
Log an Instagram account in and store its long-lived token.

  igtui login APP [--scopes a,b] [--no-browser] [--paste]
      The whole flow: prints the authorize URL (stdout), opens a browser where there is one,
      then waits for the redirect. With a loopback redirect URI (http://127.0.0.1:PORT/… or
      http://localhost:PORT/…) a one-shot listener on 127.0.0.1:PORT receives it; otherwise, or
      with --paste, paste the URL your browser was redirected to. Steps are reported on stderr.

  igtui login start APP [--scopes a,b] [--json]
      Print the authorize URL and keep the login pending in the store for 10 minutes.
      --json prints {"app", "redirect_uri", "authorize_url", "state_expires_at"}.

  igtui login finish URL_OR_CODE [--json]
      Complete a pending login from any later shell: the SSH path (start on the server, consent
      in a browser on your laptop, paste the URL back). A bare code is accepted only when exactly
      one login is pending. Use - to read the URL from stdin (keeps it out of `ps`).
      --json prints {"accounts": [account objects as in `igtui account list --json`]}.

An app literally named "start" or "finish": use `igtui login start NAME` then `login finish`."""

STEP_TEXT = {
    "url_issued": "authorize URL issued",
    "waiting_for_consent": "waiting for consent in the browser",
    "code_received": "redirect accepted, code received",
    "exchanged": "code exchanged for a short-lived token",
    "long_lived": "long-lived token obtained",
    "profile": "profile read",
    "saved": "saved in the store",
}


def _err(message: str) -> None:
    print(f"igtui: {message}", file=sys.stderr, flush=True)


def step_printer(enabled: bool = True) -> Any:
    """An on_step callback that names each step on stderr."""
    from igtui.core.oauth.flow import STEPS

    def on_step(step: str) -> None:
        if enabled:
            number = STEPS.index(step) + 1 if step in STEPS else 0
            _err(f"step {number}/{len(STEPS)}: {STEP_TEXT.get(step, step)}")

    return on_step


def _scopes(args: argparse.Namespace) -> list[str] | None:
    if not args.scopes:
        return None
    from igtui.core.scopes import parse_scope_list

    return parse_scope_list(args.scopes)


def _print_accounts(args: argparse.Namespace, accounts: list[Account]) -> None:
    from igtui.commands._common import print_json
    from igtui.commands.accounts import account_json, expires_text
    from igtui.core.clock import SystemClock
    from igtui.core.safetext import plain

    if args.json:
        print_json({"accounts": [account_json(a) for a in accounts]})
        return
    now = SystemClock().now()
    for account in accounts:
        print(f"logged in {plain(account.ref)} ({account.token_kind}, expires {expires_text(account, now)})")


def _read_paste(prompt: str) -> str:
    """One line from the terminal (not echoed) or from piped stdin, capped."""
    from igtui.core.errors import CallbackRejected
    from igtui.core.oauth.callback import MAX_INPUT_BYTES

    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        try:
            return getpass.getpass(prompt)
        except EOFError:
            raise CallbackRejected("nothing was pasted") from None
    _err(prompt.strip())
    line = sys.stdin.readline(MAX_INPUT_BYTES + 2) if sys.stdin is not None else ""
    if not line:
        raise CallbackRejected("nothing was pasted (stdin is empty)")
    return line


def _state_matches(url: str, state: Any) -> bool:
    """The listener's gate: only a redirect carrying this login's own state ends the wait."""
    import hmac
    import urllib.parse

    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True).get("state", [])
    if state is None or len(values) != 1:
        return False
    return hmac.compare_digest(values[0].encode(), state.reveal().encode())


def _interactive(args: argparse.Namespace, app_name: str) -> int:
    import asyncio

    from igtui.commands._common import session
    from igtui.core.oauth.browser import open_browser, ssh_tunnel_hint
    from igtui.core.oauth.flow import choose_redirect_uri
    from igtui.core.oauth.listener import LoopbackListener, is_loopback

    wiring = session(args)
    store = wiring.open_store(unlock=True)
    app = store.get_app(app_name)
    uri = choose_redirect_uri(app, args.redirect_uri)
    on_step = step_printer(True)

    async def run() -> list[Account]:
        holder: dict[str, Any] = {}
        listener = None
        if is_loopback(uri) and not args.paste:
            # Bind first: a busy port must fail before a flow is created or a URL is shown.
            listener = LoopbackListener(uri, accept=lambda url: _state_matches(url, holder.get("state")),
                                        timeout=args.timeout).start()
        try:
            async with wiring.graph(store) as client:
                flow = wiring.login_flow(store, client)
                # A store write (the pending flow): off the event loop, like every store call there.
                started = await asyncio.to_thread(flow.start, app.name, _scopes(args), redirect_uri=uri,
                                                  on_step=on_step)
                holder["state"] = started.state
                _err("open this URL in a browser and allow access:")
                print(started.authorize_url, file=sys.stderr if args.json else sys.stdout, flush=True)
                hint = ssh_tunnel_hint(uri, authorize_url=started.authorize_url)
                if hint:
                    _err(hint)
                if not args.no_browser and not hint and open_browser(started.authorize_url):
                    _err("a browser was opened")
                on_step("waiting_for_consent")
                if listener is not None:
                    _err(f"listening on {listener.where} for the redirect (Ctrl-C to stop)")
                    raw = await listener.wait_async()
                else:
                    raw = await asyncio.to_thread(_read_paste, "Paste the URL your browser was redirected to: ")
                return await flow.finish(raw, on_step=on_step)
        finally:
            if listener is not None:
                listener.close()

    accounts = asyncio.run(run())
    _print_accounts(args, accounts)
    return 0


def _start(args: argparse.Namespace, app_name: str) -> int:
    from igtui.commands._common import print_json, session
    from igtui.core.clock import iso
    from igtui.core.oauth.browser import ssh_tunnel_hint

    wiring = session(args)
    flow = wiring.login_flow(wiring.open_store(unlock=False), None)
    started = flow.start(app_name, _scopes(args), redirect_uri=args.redirect_uri,
                         on_step=step_printer(bool(args.verbose)))
    if args.json:
        print_json({
            "app": started.flow.app_name,
            "redirect_uri": started.redirect_uri,
            "authorize_url": started.authorize_url,
            "state_expires_at": iso(started.state_expires_at),
        })
    else:
        print(started.authorize_url)
        _err(f"open the URL, allow access, then run `igtui login finish URL` with the URL your browser "
             f"was redirected to (before {iso(started.state_expires_at)})")
        hint = ssh_tunnel_hint(started.redirect_uri, authorize_url=started.authorize_url)
        if hint:
            _err(hint)
    return 0


def _finish(args: argparse.Namespace, raw: str) -> int:
    import asyncio

    from igtui.commands._common import session

    if raw == "-":
        raw = _read_paste("Paste the URL your browser was redirected to: ")
    wiring = session(args)
    store = wiring.open_store(unlock=True)
    on_step = step_printer(bool(args.verbose))

    async def run() -> list[Account]:
        async with wiring.graph(store) as client:
            return await wiring.login_flow(store, client).finish(raw, on_step=on_step)

    accounts = asyncio.run(run())
    _print_accounts(args, accounts)
    return 0


def _login(args: argparse.Namespace) -> int:
    from igtui.core.errors import UsageError

    words: list[str] = args.words
    head = words[0]
    if not 0 < args.timeout < float("inf"):  # also refuses nan
        raise UsageError("--timeout must be a positive number of seconds, e.g. --timeout 120")
    if head == "start":
        if len(words) != 2:
            raise UsageError("usage: igtui login start APP [--scopes a,b] [--json]")
        return _start(args, words[1])
    if head == "finish":
        if len(words) != 2:
            raise UsageError("usage: igtui login finish URL_OR_CODE [--json] (quote the URL)")
        return _finish(args, words[1])
    if len(words) != 1:
        raise UsageError("usage: igtui login APP | login start APP | login finish URL_OR_CODE")
    return _interactive(args, head)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `login` (APP | start APP | finish URL_OR_CODE)."""
    parser = subparsers.add_parser(
        "login",
        help="log an account in (login APP | login start APP | login finish URL)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="igtui login APP [--scopes a,b] [--no-browser] [--paste] [--redirect-uri URI]\n"
        "       igtui login start APP [--scopes a,b] [--redirect-uri URI] [--json]\n"
        "       igtui login finish URL_OR_CODE|- [--json]",
    )
    parser.add_argument("words", nargs="+", metavar="WORD",
                        help="APP, or start APP, or finish URL_OR_CODE (see above)")
    parser.add_argument("--scopes", metavar="a,b", default=None, help="scopes to ask for (default: the app's)")
    parser.add_argument("--redirect-uri", metavar="URI", default=None,
                        help="which of the app's registered redirect URIs to use (default: its first)")
    parser.add_argument("--no-browser", action="store_true", help="do not try to open a browser")
    parser.add_argument("--paste", action="store_true",
                        help="read the redirected URL from stdin even for a loopback redirect URI")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="how long the loopback listener waits (default 600)")
    parser.add_argument("--json", action="store_true", help="print JSON (stable field names, never a token)")
    parser.set_defaults(func=_login)


__all__ = ["DESCRIPTION", "register", "step_printer"]
