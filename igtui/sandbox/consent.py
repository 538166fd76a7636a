"""The consent pages: www.instagram.com/oauth/authorize and www.facebook.com/{v}/dialog/oauth.

Plain HTML with no external resources, so it works in a real browser and in a test that posts
the form. Everything echoed from the query string is HTML-escaped. Errors that Meta shows on the
page itself (bad client_id, redirect_uri, scope) appear in the Instagram OAuth JSON shape inside
`<pre id="oauth-error">`.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from dataclasses import dataclass

from igtui.sandbox.records import FB_SCOPES, IG_SCOPES, FbUser, IgUser, SbApp
from igtui.sandbox.wire import Request, Response
from igtui.sandbox.world import World

MAX_USER_OPTIONS = 200
"""Above this many users the page shows a text field instead of a huge select."""

_PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    # No form-action: browsers apply it to the redirect after submit, which must reach the app.
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"),
]

SCOPE_WORDS = {
    "instagram_business_basic": "See your profile and media",
    "instagram_business_content_publish": "Publish posts, reels and stories",
    "instagram_business_manage_comments": "Read and reply to comments",
    "instagram_business_manage_messages": "Read and send direct messages",
    "instagram_business_manage_insights": "See insights about your account",
    "instagram_basic": "See your Instagram profile and media",
    "instagram_content_publish": "Publish content to Instagram",
    "instagram_manage_comments": "Manage Instagram comments",
    "instagram_manage_insights": "See Instagram insights",
    "instagram_manage_messages": "Manage Instagram messages",
    "pages_show_list": "Show the list of Pages you manage",
    "pages_read_engagement": "Read content posted on your Pages",
    "business_management": "Manage your business",
    "ads_management": "Manage your ads",
    "ads_read": "Read your ads",
    "public_profile": "Your public profile",
    "email": "Your email address",
}


@dataclass
class Authorize:
    """A validated authorize request."""

    platform: str
    app: SbApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    response_type: str


def split_scopes(raw: str) -> list[str]:
    """Comma- or space-separated, as both dialogs accept."""
    return [s for s in re.split(r"[,\s]+", raw.strip()) if s]


def validate(world: World, platform: str, params: dict[str, str]) -> Authorize | str:
    """Check client_id, redirect_uri, response_type and scopes; an error message on failure."""
    client_id = params.get("client_id", "")
    app = world.apps.get(client_id) if client_id.isdigit() else None
    if app is None or app.platform != platform:
        return "Invalid platform app"
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        return "Invalid redirect_uri"
    response_type = params.get("response_type") or "code"
    if response_type != "code":
        return f"Unsupported response_type: {response_type} (the sandbox serves code only)"
    scopes = split_scopes(params.get("scope", ""))
    if platform == "instagram":
        if "instagram_business_content_publishing" in scopes:
            return "Business and user permissions are mutually exclusive"
        unknown = [s for s in scopes if s not in IG_SCOPES]
        if not scopes or unknown:
            return f"Invalid scope: [{', '.join(unknown)}]"
    else:
        unknown = [s for s in scopes if s not in FB_SCOPES]
        if unknown:
            return f"Invalid Scopes: {', '.join(unknown)}"
        scopes = scopes or ["public_profile"]
    return Authorize(platform, app, redirect_uri, tuple(dict.fromkeys(scopes)),
                     params.get("state"), response_type)


def error_page(message: str, status: int = 400) -> Response:
    """The page shown for a bad authorize or consent request: the OAuth error JSON, HTML-escaped.

    instagram.com answers a bad authorize request this way; escaping keeps a crafted
    parameter echoed in the message from becoming markup.
    """
    body = json.dumps({"error_type": "OAuthException", "code": 400, "error_message": message})
    text = _page("Error", f"<h1>Sorry, this page isn't available</h1>"
                 f"<pre id=\"oauth-error\">{html.escape(body)}</pre>")
    return Response(status, text.encode(), list(_PAGE_HEADERS))


def consent_page(world: World, req: Request, platform: str) -> Response:
    """GET authorize/dialog: validate, then show app, scopes, user choice, Allow/Deny."""
    result = validate(world, platform, req.query)
    if isinstance(result, str):
        return error_page(result)
    esc = html.escape
    hidden = {"platform": platform, "client_id": result.app.app_id,
              "redirect_uri": result.redirect_uri, "scope": ",".join(result.scopes),
              "response_type": result.response_type}
    if result.state is not None:
        hidden["state"] = result.state
    fields = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in hidden.items()
    )
    scope_items = "".join(
        f'<li><label><input type="checkbox" name="grant" value="{esc(s)}" checked> '
        f"<code>{esc(s)}</code> — {esc(SCOPE_WORDS.get(s, ''))}</label></li>"
        for s in result.scopes
    )
    users: list[IgUser | FbUser] = list(world.ig_users.values() if platform == "instagram" else world.fb_users.values())
    if platform == "instagram":
        users = [u for u in users if getattr(u, "page_id", None) is None]
    if len(users) <= MAX_USER_OPTIONS:
        options = "".join(
            f'<option value="{esc(u.username)}">{esc(u.username)}</option>' for u in users
        )
        chooser = f'<select name="username" id="username">{options}</select>'
    else:
        chooser = ('<input type="text" name="username" id="username" required '
                   'placeholder="sandbox username" autocomplete="off">')
    site = "Instagram" if platform == "instagram" else "Facebook"
    body = (
        f"<h1>{site} (sandbox)</h1>"
        f"<p><strong>{esc(result.app.name)}</strong> (app {esc(result.app.app_id)}) "
        f"wants to:</p><ul>{scope_items}</ul>"
        f"<p>It will send you back to <code>{esc(result.redirect_uri)}</code>.</p>"
        f'<form method="post" action="/oauth/authorize/decide">{fields}'
        f'<input type="hidden" name="grant_present" value="1">'
        f'<p><label for="username">Log in as</label> {chooser}</p>'
        f'<p><button type="submit" name="decision" value="allow">Allow</button> '
        f'<button type="submit" name="decision" value="deny">Deny</button></p></form>'
    )
    return Response(200, _page(f"{site} sandbox login", body).encode(), list(_PAGE_HEADERS))


def decide(world: World, req: Request) -> Response:
    """POST decide: re-validate (the form can be forged), then 302 with a code or an error."""
    if req.method != "POST":
        return error_page("Use the consent form", 405)
    platform = req.form.get("platform", "")
    if platform not in ("instagram", "facebook"):
        return error_page("Invalid platform app")
    result = validate(world, platform, req.form)
    if isinstance(result, str):
        return error_page(result)
    decision = req.form.get("decision", "")
    sep = "&" if "?" in result.redirect_uri else "?"
    tail: list[tuple[str, str]] = [] if result.state is None else [("state", result.state)]
    if decision == "deny":
        params = [("error", "access_denied"), ("error_reason", "user_denied"),
                  ("error_description", "The user denied your request")]
        return _redirect(result.redirect_uri + sep + urllib.parse.urlencode(params + tail))
    if decision != "allow":
        return error_page("Choose Allow or Deny")
    username = req.form.get("username", "").strip()
    known = world.ig_users if platform == "instagram" else world.fb_users
    if username not in known:
        return error_page("Unknown sandbox user")
    if "grant_present" in req.form or "grant" in req.form_multi:
        granted = tuple(s for s in result.scopes if s in req.form_multi.get("grant", []))
    else:
        granted = result.scopes
    code = world.issue_code(result.app, username, result.redirect_uri, granted)
    query = urllib.parse.urlencode([("code", code.value), *tail])
    # Instagram appends "#_" to the redirect; it is not part of the code.
    suffix = "#_" if platform == "instagram" else ""
    return _redirect(result.redirect_uri + sep + query + suffix)


def _redirect(location: str) -> Response:
    headers = [("Location", location), ("Cache-Control", "no-store"),
               ("Referrer-Policy", "no-referrer"), ("Content-Type", "text/html; charset=utf-8")]
    return Response(302, b"", headers)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;"
        "padding:0 1em}button{font-size:1.1em;padding:.4em 1.2em;margin-right:.5em}"
        "pre{white-space:pre-wrap;background:#f4f4f4;padding:1em}</style></head>"
        f"<body>{body}</body></html>"
    )
