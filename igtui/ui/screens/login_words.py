"""What the login screen says, as pure functions of its state (no widgets, no I/O).

Kept apart from `login_flow.py` so that the screen module holds the flow (workers, keys) and this
one the wording, which tests and snapshots pin down. Text from outside (usernames, the URL) goes
through `safe()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from igtui.ui.text import safe

if TYPE_CHECKING:
    from igtui.core.oauth.browser import Forward

STEPS: tuple[tuple[str, str], ...] = (
    ("url_issued", "Authorize URL issued"),
    ("waiting_for_consent", "Waiting for consent"),
    ("code_received", "Code received"),
    ("exchanged", "Code exchanged for a token"),
    ("long_lived", "Long-lived token obtained"),
    ("profile", "Profile read"),
    ("saved", "Saved to the store"),
)
"""The checklist, in the core's step names (`igtui.core.oauth.flow.STEPS`)."""


def steps_text(reached: int, failed: str | None) -> Text:
    """Ticked up to `reached`; the next step is current (●), or crossed out with why it `failed`."""
    text = Text()
    for index, (_name, label) in enumerate(STEPS):
        if index <= reached:
            text.append("✓ ", style="green")
            text.append(label)
        elif index == reached + 1 and failed is not None:
            text.append("✗ ", style="bold red")
            text.append(f"{label} — {failed}", style="bold red")
        elif index == reached + 1:
            text.append("● ", style="yellow")
            text.append(label, style="bold")
        else:
            text.append("○ ", style="dim")
            text.append(label, style="dim")
        if index < len(STEPS) - 1:
            text.append("\n")
    return text


def url_text(url: str, *, opened: bool) -> Text:
    """The authorize URL with what to do with it (a browser may already show it)."""
    lead = "A browser was opened on this URL; if it did not appear, open it" if opened else "Open this URL"
    text = Text(f"{lead} in a browser where you can log in (F2 copies, F3 QR code):\n", style="bold")
    text.append_text(safe(url, style="underline", wrap=True))
    return text


def tunnel_text(forwards: Sequence[Forward], command: str, *, paste: bool, consent: bool) -> Text:
    """Over SSH: which ports of this machine the browser elsewhere needs, and the one command forwarding them.

    Args:
        forwards: From `browser.ssh_forwards`.
        command: From `browser.ssh_command`.
        paste: The redirect is not loopback, so its URL is pasted back.
        consent: Terminal consent is the alternative (the demo).
    """
    places = " and ".join(f"{f.target}:{f.port} ({f.what})" for f in forwards)
    text = Text(f"Over SSH: the browser on YOUR computer must reach {places} on this server. "
                "On your computer run:\n", style="yellow")
    text.append(f"  {command}\n", style="bold")
    text.append("then open the URL there", style="yellow")
    if paste:
        text.append(" and paste the URL it lands on below", style="yellow")
    if consent:
        text.append(", or approve right here: F5 approves, F7 denies.", style="yellow")
    else:
        text.append(", or paste the URL it was redirected to below.", style="yellow")
    return text


def not_listening_text(where: str, why: str, *, consent: bool) -> Text:
    """A refused listen, with what a TUI user can do about it (never the CLI's flags)."""
    if "in use" in why:
        text = Text(f"{where} is in use by another program, so igtui cannot receive the browser's "
                    "redirect there (that program would). Stop it (another igtui login?) and press F8 to "
                    "start again, or paste the URL from your browser's address bar into the field above.",
                    style="yellow")
    else:
        text = Text(f"igtui cannot listen on {where} ({why}): paste the URL from your browser's address "
                    "bar into the field above.", style="yellow")
    if consent:
        text.append(" In the demo, F5 approves right here.", style="yellow")
    return text


def consent_text(users: Sequence[str], chosen: int) -> Text:
    """The demo's consent line: who F5 approves as, how to pick another, how to deny."""
    if not users:
        return Text("The sandbox's consent page lists no user to approve as here.", style="yellow")
    text = Text("Demo: ", style="bold")
    text.append("F5 approves here as ")
    text.append_text(safe(users[chosen], style="bold cyan"))
    text.append(f" (F6: next of {len(users)} users), F7 denies.")
    return text


def other_account_notice(was: str, names: str, *, all_new: bool) -> str:
    """A re-login of `was` that Meta answered as `names`: what was saved, and that `was` is unchanged."""
    how = f"{names} was saved as a new account" if all_new else f"{names} got a new token"
    return (f"This was a re-login of {was}, but Instagram answered as {names}: {how}, "
            f"and {was} is unchanged (log in as {was} to renew it).")


__all__ = [
    "STEPS",
    "consent_text",
    "not_listening_text",
    "other_account_notice",
    "steps_text",
    "tunnel_text",
    "url_text",
]
