"""parse_callback against every bad paste-back case: forged, oversized, foreign or garbled
redirects (the flow-level ones, such as a replayed state, are in test_flow)."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from igtui.core.errors import CallbackRejected, ConsentDenied
from igtui.core.models import PendingFlow
from igtui.core.oauth.callback import (
    MAX_CODE_LENGTH,
    MAX_INPUT_BYTES,
    MAX_STATE_LENGTH,
    MIN_CODE_LENGTH,
    Callback,
    check_code,
    parse_callback,
)
from igtui.core.safetext import plain

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
    raw = _url(
        error="access_denied", error_reason="user_denied", error_description="<script>alert(1)</script>", state=STATE
    )
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


# --- Each rejection layer on its own --------------------------------------------------------------
# Every input below is a valid redirect but for one fault, so only the layer under test can refuse
# it: remove that layer and the URL is accepted (or refused by a later layer, with another message).
# Extra query parameters are ignored by parse_callback, which is how a fault is put in without
# touching the code or the state.


def _accept(raw: str, pending: tuple[PendingFlow, ...] = ONE, uris: tuple[str, ...] = URIS) -> Callback:
    return parse_callback(raw, pending=pending, redirect_uris=uris)


def _sized(total: int, filler: str = "x") -> str:
    """A valid redirect URL exactly `total` bytes long (an ignored `pad` parameter makes up the size)."""
    head = _url(code=CODE, state=STATE) + "&pad="
    return head + filler * (total - len(head.encode()))


def test_the_4_kib_cap_is_inclusive_and_counts_bytes() -> None:
    at_cap = _sized(MAX_INPUT_BYTES)
    assert len(at_cap.encode()) == MAX_INPUT_BYTES == 4096
    assert _accept(at_cap).code.reveal() == CODE
    assert "over 4096 bytes" in _reject(_sized(MAX_INPUT_BYTES + 1))
    # The cap counts UTF-8 bytes, not characters: 2,049 two-byte characters are over it.
    assert "over 4096 bytes" in _reject("\u00e9" * 2049)
    assert "non-ASCII" in _reject("\u00e9" * 2048)


def test_a_value_that_is_not_text_is_refused() -> None:
    for raw in (b"https://localhost/callback", None, 42):
        with pytest.raises(CallbackRejected, match="must be text"):
            parse_callback(raw, pending=ONE, redirect_uris=URIS)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["", "   \n\t", "\x1b[200~\x1b[201~", "  \x1b[200~ \n\x1b[201~ ", "#_", " #_=_\n"])
def test_nothing_left_after_normalising_is_nothing_pasted(raw: str) -> None:
    assert "nothing was pasted" in _reject(raw)


def test_only_one_meta_fragment_is_stripped() -> None:
    # `#_=_` is stripped, and the `#_` before it is then a fragment like any other.
    assert "fragment" in _reject(_url(code=CODE, state=STATE) + "#_#_=_")
    assert "fragment" in _reject(_url(code=CODE, state=STATE) + "#_=_#_=_")


@pytest.mark.parametrize("note", ["caf\u00e9", "\u0430dmin", "\u202e", "\uff1f"])
def test_non_ascii_anywhere_is_refused(note: str) -> None:
    assert "non-ASCII" in _reject(_url(code=CODE, state=STATE) + "&note=" + note)


@pytest.mark.parametrize("note", ["a\x07b", "a\x00b", "a\x1b[2Jb", "a\x7fb", "a\tb"])
def test_control_characters_are_refused_without_any_space(note: str) -> None:
    assert "control characters" in _reject(_url(code=CODE, state=STATE) + "&note=" + note)


def test_a_space_inside_is_refused_although_it_is_printable() -> None:
    assert "spaces or control characters" in _reject(_url(code=CODE, state=STATE) + "&note=a b")


def test_an_empty_code_is_its_own_refusal() -> None:
    assert "empty code" in _reject(f"{REDIRECT}?code=&state={STATE}")


@pytest.mark.parametrize("length", [MIN_CODE_LENGTH, MIN_CODE_LENGTH + 1, MAX_CODE_LENGTH - 1, MAX_CODE_LENGTH])
def test_code_lengths_from_16_to_1024_are_accepted(length: int) -> None:
    assert (MIN_CODE_LENGTH, MAX_CODE_LENGTH) == (16, 1024)
    code = ("AQD" + "x" * length)[:length]
    assert _accept(_url(code=code, state=STATE)).code.reveal() == code
    assert check_code(code).reveal() == code


def test_a_15_character_code_is_too_short() -> None:
    assert "too short" in _reject(_url(code="A" * (MIN_CODE_LENGTH - 1), state=STATE))
    assert "too short" in _reject("A" * (MIN_CODE_LENGTH - 1))  # the bare-code path shares the check


def test_a_1025_character_code_is_too_long() -> None:
    assert "longer than 1024" in _reject(_url(code="A" * (MAX_CODE_LENGTH + 1), state=STATE))


@pytest.mark.parametrize("code", ["AQD" + "x" * 20 + bad for bad in "<%: "] + ["AQD*" + "x" * 20])
def test_a_code_with_a_character_meta_never_uses_is_refused(code: str) -> None:
    with pytest.raises(CallbackRejected, match="characters a Meta code never has"):
        check_code(code)


def test_every_character_meta_uses_is_accepted_in_a_code() -> None:
    code = "AZaz09-._~+/=" + "x" * 10
    assert check_code(code).reveal() == code


def test_states_up_to_256_characters_are_accepted() -> None:
    for state in ("s", "A" * (MAX_STATE_LENGTH - 1), "A" * MAX_STATE_LENGTH, "Az09-_"):
        cb = _accept(_url(code=CODE, state=state))
        assert cb.state is not None and cb.state.reveal() == state
    assert MAX_STATE_LENGTH == 256


@pytest.mark.parametrize("state", ["", "A" * (MAX_STATE_LENGTH + 1), "abc.def", "abc+def", "abc/def", "abc=def"])
def test_a_state_igtui_cannot_have_made_is_refused(state: str) -> None:
    raw = f"{REDIRECT}?code={CODE}&state={urllib.parse.quote(state, safe='')}"
    assert "does not match any pending login" in _reject(raw)


@pytest.mark.parametrize(
    "base",
    ["ftp://localhost/callback", "file:///callback", "https:///callback", "https://localhost:99999/callback",
     "https://localhost:port/callback", "javascript://localhost/callback"],
)
def test_not_an_http_url_is_its_own_refusal(base: str) -> None:
    # These would also fail to match a registered URI; the message says which check refused them.
    assert "not a valid http(s) URL" in _reject(_url(base, code=CODE, state=STATE))


def test_an_authorize_url_is_named_as_such() -> None:
    message = _reject("https://www.instagram.com/oauth/authorize/?client_id=1&state=" + STATE)
    assert message.startswith("that is the login (authorize) URL, not the redirect")


def test_an_unregistered_target_is_named_in_plain_text_and_cut_at_120_characters() -> None:
    host_path = "https://evil.example/" + "p" * 200
    message = _reject(_url(host_path, code=CODE, state=STATE))
    shown = plain(host_path, limit=120)
    assert len(shown) == 120 and shown.endswith("\u2026")
    assert f"the URL goes to {shown}, which is not a registered redirect URI" in message
    short = "https://evil.example/" + "p" * 99  # exactly 120 characters: shown whole
    assert len(short) == 120
    assert f"goes to {short}, which" in _reject(_url(short, code=CODE, state=STATE))


def test_default_ports_are_80_for_http_and_443_for_https() -> None:
    plain_http = ("http://localhost/cb",)
    explicit = _url("http://localhost:80/cb", code=CODE, state=STATE)
    assert _accept(explicit, uris=plain_http).redirect_uri == plain_http[0]
    assert _accept(_url("http://localhost/cb", code=CODE, state=STATE), uris=("http://localhost:80/cb",)).redirect_uri \
        == "http://localhost:80/cb"
    assert _accept(_url("https://localhost/callback", code=CODE, state=STATE),
                   uris=("https://localhost:443/callback",)).redirect_uri == "https://localhost:443/callback"
    _reject(_url("http://localhost:443/cb", code=CODE, state=STATE))  # not http's default
    with pytest.raises(CallbackRejected):
        parse_callback(_url("https://localhost:80/callback", code=CODE, state=STATE), pending=ONE,
                       redirect_uris=("https://localhost/callback",))


def test_the_first_registered_uri_that_matches_is_returned() -> None:
    uris = ("https://localhost:443/callback", "https://localhost/callback")
    assert _accept(_url(code=CODE, state=STATE), uris=uris).redirect_uri == uris[0]


def test_fifty_parameters_are_fine_and_fifty_one_are_too_many() -> None:
    def with_fields(n: int) -> str:
        extra = "&".join(f"p{i}=1" for i in range(n - 2))
        return _url(code=CODE, state=STATE) + "&" + extra

    assert _accept(with_fields(50)).code.reveal() == CODE
    assert "too many parameters" in _reject(with_fields(51))


def test_loose_query_syntax_is_tolerated() -> None:
    # A stray flag or an empty `&&` is not a fault of the code or the state (lenient parsing, as browsers do).
    assert _accept(f"{REDIRECT}?code={CODE}&flag&state={STATE}").code.reveal() == CODE
    assert _accept(f"{REDIRECT}?code={CODE}&&state={STATE}&").code.reveal() == CODE


def test_a_denial_named_only_by_error_reason_is_consent_denied() -> None:
    raw = _url(error="server_error", error_reason="user_denied", state=STATE)
    with pytest.raises(ConsentDenied, match="denied by the user"):
        parse_callback(raw, pending=ONE, redirect_uris=URIS)


def test_another_redirect_error_keeps_metas_words_cut_at_200_characters() -> None:
    raw = _url(error="server_error", error_description="try later", state=STATE)
    with pytest.raises(CallbackRejected) as info:
        parse_callback(raw, pending=ONE, redirect_uris=URIS)
    assert str(info.value) == "Meta ended the login with an error: Meta refused the login (server_error): try later"
    assert info.value.state.reveal() == STATE  # type: ignore[attr-defined]
    long = _url(error="server_error", error_description="d" * 400, state=STATE)
    message = _reject(long)
    text = message.removeprefix("Meta ended the login with an error: ")
    assert len(text) == 200 and text.endswith("\u2026") and text.startswith("Meta refused the login (server_error)")


def test_a_redirect_error_without_a_state_still_ends_nothing_by_state() -> None:
    with pytest.raises(ConsentDenied) as info:
        parse_callback(_url(error="access_denied"), pending=ONE, redirect_uris=URIS)
    assert info.value.state is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("userinfo", ["user@", "user:pw@", ":pw@", "user:@"])
def test_a_user_name_or_password_alone_is_refused(userinfo: str) -> None:
    raw = f"https://{userinfo}localhost/callback?code={CODE}&state={STATE}"
    assert "user name or password" in _reject(raw)


def test_a_bare_code_uses_the_only_pending_flows_redirect() -> None:
    loopback_flow = (_flow(7, LOOPBACK),)
    cb = _accept(CODE, pending=loopback_flow)
    assert cb.redirect_uri == LOOPBACK and cb.state is None


@pytest.mark.parametrize("raw", [CODE + "?x", CODE + "&x", "a=" + CODE, CODE[:10] + "=" + CODE[10:]])
def test_a_bare_code_with_url_syntax_is_refused(raw: str) -> None:
    assert "part of a URL" in _reject(raw)


def test_a_bare_code_may_end_in_base64_padding() -> None:
    assert _accept(CODE + "==").code.reveal() == CODE + "=="


def test_the_count_of_pending_logins_is_in_the_ambiguity_message() -> None:
    assert _reject(CODE, pending=(_flow(1), _flow(2), _flow(3))).startswith("3 logins are pending")
