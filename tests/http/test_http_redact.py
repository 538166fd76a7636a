"""Redaction: no secret survives redact_url / redact_headers / redact_text (property-style)."""

from __future__ import annotations

import json
import random
import string
import urllib.parse

import pytest
from graph_helpers import canary

from igtui.core.graph.redact import SECRET_KEYS, redact_headers, redact_text, redact_url
from igtui.core.secret import Secret

ROUNDS = 200
SAFE_KEYS = ("fields", "grant_type", "client_id", "redirect_uri", "scope", "error_code", "x")


def _random_value(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.~|"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 60)))


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_each_secret_key_is_blanked_in_query_and_fragment(key: str) -> None:
    url = f"https://graph.instagram.com/x?{key}=QQQVALUEQQQ&fields=id#{key}=FFFVALUEFFF&y=1"
    out = redact_url(url)
    assert "QQQVALUEQQQ" not in out and "FFFVALUEFFF" not in out
    assert out == f"https://graph.instagram.com/x?{key}=***&fields=id#{key}=***&y=1"


def test_redact_url_keeps_everything_else_as_sent() -> None:
    url = "https://www.instagram.com/oauth/authorize?client_id=1&redirect_uri=https%3A%2F%2Flocalhost%2F&scope=a%2Cb#_"
    assert redact_url(url) == url
    assert redact_url("https://x/?ACCESS_TOKEN=abc") == "https://x/?ACCESS_TOKEN=***"
    assert redact_url("https://x/?access%5Ftoken=abc") == "https://x/?access%5Ftoken=***"
    assert redact_url("https://me:pw@x/p?a=1") == "https://***@x/p?a=1"


def test_no_secret_survives_random_urls() -> None:
    rng = random.Random(1234)
    for _ in range(ROUNDS):
        secret_values = []
        pairs = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                value = _random_value(rng)
                secret_values.append(value)
                key = rng.choice(sorted(SECRET_KEYS))
                pairs.append((key.upper() if rng.random() < 0.2 else key, value))
            else:
                pairs.append((rng.choice(SAFE_KEYS), "v" + str(rng.randint(0, 9))))
        rng.shuffle(pairs)
        query = urllib.parse.urlencode(pairs)
        where = rng.choice(["query", "fragment", "both"])
        url = "https://graph.facebook.com/v25.0/oauth/access_token"
        if where in ("query", "both"):
            url += "?" + query
        if where in ("fragment", "both"):
            url += "#" + query
        out = redact_url(url)
        for value in secret_values:
            assert urllib.parse.quote_plus(value) not in out, (url, out)


def test_no_known_secret_survives_random_text() -> None:
    rng = random.Random(99)
    for _ in range(ROUNDS):
        value = canary("TOK")
        Secret(value)
        encodings = [value, urllib.parse.quote(value), json.dumps(value)]
        filler = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))
        text = filler[: len(filler) // 2] + rng.choice(encodings) + filler[len(filler) // 2 :]
        assert value not in redact_text(text)


def test_key_rules_catch_unregistered_values_in_text() -> None:
    raw = "UNREGISTERED_" + "z" * 20
    samples = [
        "HTTP Request: GET https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token"
        f'&access_token={raw} "HTTP/1.1 200 OK"',
        f'{{"access_token": "{raw}", "token_type": "bearer"}}',
        f"{{'client_secret': '{raw}'}}",
        f"client_id=1&client_secret={raw}&code={raw}",
        f"Authorization: Bearer {raw}",
        f"sent header authorization: OAuth {raw}",
        f"redirect=https%3A%2F%2Fx%2F%3Fcode%3D{raw}%26state%3D{raw}",
        f'{{"access_token":"{raw}',  # truncated JSON body
        f"Set-Cookie: sessionid={raw}; Path=/",
        f"password={raw} passphrase={raw}",
    ]
    for sample in samples:
        assert raw not in redact_text(sample), sample


def test_redact_text_leaves_ordinary_text_alone() -> None:
    text = 'Error validating access token: Session has expired (#190) "code": 190, error_code=190'
    assert redact_text(text) == text


def test_redact_headers_masks_auth_and_cookies_and_urls() -> None:
    raw = canary()
    Secret(raw)
    headers = {
        "Authorization": f"Bearer {raw}",
        "Proxy-Authorization": "Basic abc",
        "cookie": "a=b",
        "Set-Cookie": "c=d",
        "Location": "https://localhost/callback?code=abc&state=def#_",
        "X-Echo": f"token {raw}",
        "Content-Type": "application/json",
    }
    out = redact_headers(headers)
    assert out["Authorization"] == out["Proxy-Authorization"] == out["cookie"] == out["Set-Cookie"] == "***"
    assert out["Location"] == "https://localhost/callback?code=***&state=***#_"
    assert raw not in out["X-Echo"]
    assert out["Content-Type"] == "application/json"
    assert redact_headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]) == {"Set-Cookie": "***, ***"}


def test_meta_prose_after_oauth_is_not_taken_for_a_token() -> None:
    text = "Invalid OAuth access token - Cannot parse access token"
    assert redact_text(text) == text
    assert "IGQWRPabcdefghijklmnop" not in redact_text("OAuth IGQWRPabcdefghijklmnop")
