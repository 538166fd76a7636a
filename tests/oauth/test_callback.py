"""parse_callback against every paste-back case of security.md §6 A (the flow-level ones are in test_flow)."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from igtui.core.errors import CallbackRejected, ConsentDenied
from igtui.core.models import PendingFlow
from igtui.core.oauth.callback import MAX_INPUT_BYTES, parse_callback

REDIRECT = "https://localhost/callback"
LOOPBACK = "http://127.0.0.1:8765/callback"
URIS = (REDIRECT, LOOPBACK)
CODE = "AQDx7-Ab_cd.ef~ghIJKLmnop0123456789"
STATE = "s7aTe-Value_0123456789abcdefghijklmnopqrstu"


def _flow(n: int = 1, uri: str = REDIRECT) -> PendingFlow:
    now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    return PendingFlow(
        id=n, app_name="demo-ig", platform="instagram", redirect_uri=uri, scopes=("instagram_business_basic",),
        created_at=now, expires_at=now + timedelta(minutes=10),
    )


ONE = (_flow(),)


def _url(base: str = REDIRECT, **params: str) -> str:
    return base + "?" + urllib.parse.urlencode(params)


def _reject(raw: str, pending: tuple[PendingFlow, ...] = ONE, match: str | None = None) -> str:
    with pytest.raises(CallbackRejected, match=match) as info:
        parse_callback(raw, pending=pending, redirect_uris=URIS)
    message = str(info.value)
    assert "\n" not in message
    assert CODE not in message and STATE not in message
    return message


def test_valid_url_gives_code_state_and_matched_redirect() -> None:
    cb = parse_callback(_url(code=CODE, state=STATE) + "#_", pending=ONE, redirect_uris=URIS)
    assert cb.code.reveal() == CODE
    assert cb.state is not None and cb.state.reveal() == STATE
    assert cb.redirect_uri == REDIRECT


def test_loopback_url_matches_the_loopback_redirect() -> None:
    cb = parse_callback(_url(LOOPBACK, code=CODE, state=STATE), pending=ONE, redirect_uris=URIS)
    assert cb.redirect_uri == LOOPBACK


@pytest.mark.parametrize("raw", ["", "   \n\t", "hello", "x" * (MAX_INPUT_BYTES + 1), "a" * (1024 * 1024)])
def test_a1_garbage_is_refused(raw: str) -> None:
    _reject(raw)


def test_a2_authorize_url_gets_the_paste_hint() -> None:
    authorize = "https://www.instagram.com/oauth/authorize?" + urllib.parse.urlencode(
        {"client_id": "1", "redirect_uri": REDIRECT, "response_type": "code", "state": STATE}
    )
    message = _reject(authorize)
    assert "paste the URL your browser was redirected to" in message
    assert "authorize" in message


def test_a2_facebook_dialog_url_gets_the_paste_hint() -> None:
    message = _reject("https://www.facebook.com/v25.0/dialog/oauth?client_id=2&state=" + STATE)
    assert "paste the URL your browser was redirected to" in message


@pytest.mark.parametrize(
    "base",
    [
        "https://evil.example/callback",  # A6 open redirect / phishing
        "https://localhost.evil.example/callback",
        "http://localhost/callback",  # scheme differs
        "https://localhost:8443/callback",  # port differs
        "https://localhost/callback/",  # trailing slash differs
        "https://localhost/Callback",  # path is case-sensitive
        "http://127.0.0.1:8766/callback",  # another loopback port
        "http://127.0.0.2:8765/callback",
        "ftp://localhost/callback",
    ],
)
def test_a6_redirect_target_must_equal_a_registered_uri(base: str) -> None:
    _reject(_url(base, code=CODE, state=STATE))


def test_host_comparison_is_case_insensitive_and_default_port_explicit() -> None:
    cb = parse_callback(_url("https://LOCALHOST:443/callback", code=CODE, state=STATE), pending=ONE, redirect_uris=URIS)
    assert cb.redirect_uri == REDIRECT


@pytest.mark.parametrize(
    "query",
    [
        f"code={CODE}&state={STATE}&state={STATE}",
        f"code={CODE}&code={CODE}x&state={STATE}",
        f"state=a&code={CODE}&state={STATE}",
    ],
)
def test_a7_duplicate_parameters_are_refused(query: str) -> None:
    assert "twice" in _reject(f"{REDIRECT}?{query}")


def test_a8_paste_markers_whitespace_and_hash_underscore_are_stripped() -> None:
    raw = f"  \x1b[200~{_url(code=CODE, state=STATE)}#_\x1b[201~\n"
    cb = parse_callback(raw, pending=ONE, redirect_uris=URIS)
    assert cb.code.reveal() == CODE


def test_a8_percent_encoded_state_is_decoded() -> None:
    encoded = "".join(f"%{ord(c):02X}" for c in STATE)
    cb = parse_callback(f"{REDIRECT}?code={CODE}&state={encoded}", pending=ONE, redirect_uris=URIS)
    assert cb.state is not None and cb.state.reveal() == STATE


def test_other_fragments_are_refused() -> None:
    _reject(_url(code=CODE, state=STATE) + "#access_token=abc")


@pytest.mark.parametrize("fragment", ["#_", "#_=_"])
def test_meta_fragments_from_both_logins_are_accepted(fragment: str) -> None:
    """Instagram appends `#_`, Facebook `#_=_`; a URL pasted from the address bar carries it (§12)."""
    cb = parse_callback(_url(code=CODE, state=STATE) + fragment, pending=ONE, redirect_uris=URIS)
    assert cb.code.reveal() == CODE and cb.state is not None and cb.state.reveal() == STATE
    pasted = f"  \x1b[200~{_url(LOOPBACK, code=CODE, state=STATE)}{fragment}\x1b[201~\n"
    assert parse_callback(pasted, pending=ONE, redirect_uris=URIS).redirect_uri == LOOPBACK
    bare = parse_callback(CODE + fragment, pending=ONE, redirect_uris=URIS)
    assert bare.code.reveal() == CODE and bare.state is None


@pytest.mark.parametrize(
    "fragment",
    ["#_=_x", "#foo", "#_x", "#__", "#=_", "#_=", "#_=_=_", "#_#_", "#_=_#_", "#_=__", "#", "#%5F", "#_=_&a=b",
     "#code=AQDxxxxxxxxxxxxxxxxxxx"],
)
def test_any_other_fragment_is_still_refused(fragment: str) -> None:
    assert "fragment" in _reject(_url(code=CODE, state=STATE) + fragment)


@pytest.mark.parametrize("fragment", ["#foo", "#_=_x", "#"])
def test_bare_code_with_another_fragment_is_refused(fragment: str) -> None:
    _reject(CODE + fragment)


def test_a9_access_denied_is_consent_denied_without_the_description() -> None:
    raw = _url(error="access_denied", error_reason="user_denied", error_description="<script>alert(1)</script>", state=STATE)
    with pytest.raises(ConsentDenied, match="denied by the user") as info:
        parse_callback(raw, pending=ONE, redirect_uris=URIS)
    assert "<script>" not in str(info.value)
    assert info.value.state.reveal() == STATE  # type: ignore[attr-defined]


def test_a9_other_redirect_errors_are_plain_text() -> None:
    raw = _url(error="server_error", error_description="bad \x1b]52;c;ZXZpbA==\x07 thing", state=STATE)
    message = _reject(raw)
    assert "\x1b" not in message and "\x07" not in message
    assert "Meta ended the login with an error" in message


def test_redirect_error_on_a_foreign_host_is_refused_as_a_redirect_mismatch() -> None:
    with pytest.raises(CallbackRejected, match="not a registered redirect"):
        parse_callback(_url("https://evil.example/cb", error="access_denied"), pending=ONE, redirect_uris=URIS)


@pytest.mark.parametrize(
    "code",
    [
        "A" * 1025,  # too long (but under the 4 KiB input cap)
        "AQD" + "%00" + "x" * 20,  # NUL once decoded
        "AQD" + urllib.parse.quote("\u0410\u0412\u0421") + "x" * 20,  # Cyrillic homoglyphs, percent-encoded
        "AQD<script>xxxxxxxxxxxxxxxx",
        "short",
        "",
    ],
)
def test_a10_code_charset_and_length(code: str) -> None:
    _reject(f"{REDIRECT}?code={code}&state={STATE}")


def test_a10_raw_unicode_and_controls_are_refused() -> None:
    _reject(f"{REDIRECT}?code=AQD\u0410\u0412\u0421xxxxxxxxxxxxxxx&state={STATE}")
    _reject(f"{REDIRECT}?code=AQDxxxxxxx\x00xxxxxxxxxx&state={STATE}")
    _reject(f"{REDIRECT}?code=AQDxxxxxxx\x1b[2Jxxxxxxxxxx&state={STATE}")


def test_missing_code_or_state_is_refused() -> None:
    assert "no code" in _reject(_url(state=STATE))
    assert "no state" in _reject(_url(code=CODE))


def test_malformed_state_is_refused_as_not_matching() -> None:
    assert "does not match" in _reject(_url(code=CODE, state="has space"))
    assert "does not match" in _reject(_url(code=CODE, state="x" * 300))


def test_userinfo_is_refused() -> None:
    _reject(f"https://user:pw@localhost/callback?code={CODE}&state={STATE}")


def test_bare_code_needs_exactly_one_pending_flow() -> None:
    cb = parse_callback(CODE + "#_", pending=ONE, redirect_uris=URIS)
    assert cb.state is None and cb.code.reveal() == CODE and cb.redirect_uri == REDIRECT
    assert "no login is pending" in _reject(CODE, pending=())
    assert "ambiguous" in _reject(CODE, pending=(_flow(1), _flow(2, LOOPBACK)))


def test_query_fragment_without_url_is_refused() -> None:
    assert "part of a URL" in _reject(f"code={CODE}&state={STATE}")
