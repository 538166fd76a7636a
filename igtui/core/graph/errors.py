"""Turn whatever Meta (or a proxy in front of it) answered into a typed igtui error.

This module is the one name to import from; the work is done in five small modules, each
depending only on those above it:

* `errorheaders`: the trace id and the `WWW-Authenticate` hint, the parts of an error reply
  outside its body;
* `codes`: the class for a Graph code (by code, never by `type`; the status breaks ties);
* `appblock`: Meta's words that say the *application* is blocked, not the token;
* `build`: one typed error with a plain-words message (`build_error`);
* `bodies`: a reply body or a redirect's query read into that error, or a usable success
  (`decode_body`, `parse_error`, `error_from_redirect`).

Two things read Meta's text, and only to pick a class: app-level errors, where the message is
the only thing that says the app rather than the token is the problem, and the
`WWW-Authenticate` header's hint, used only when the body says nothing usable. Meta's text is
otherwise redacted, made terminal-safe and kept as plain data. Which igtui error means what,
and the exit code of each, is drawn in `igtui.core.errors`.

To teach igtui a new Meta error: add its code to `codes` (or its wording to `appblock` when it
is about the app), its plain words to `build`, and a test that feeds the recorded reply through
`parse_error` (ARCHITECTURE.md, "How to add… a Meta error").
"""

from __future__ import annotations

from igtui.core.graph.appblock import APP_ADVICE, app_block_from, app_block_kind
from igtui.core.graph.bodies import decode_body, error_from_redirect, parse_error
from igtui.core.graph.build import build_error
from igtui.core.graph.codes import (
    PERMISSION_CODES,
    RATE_LIMIT_CODES,
    RELOGIN_CODES,
    TRANSIENT_CODES,
    classify,
)
from igtui.core.graph.errorheaders import (
    AUTH_HINTS,
    TRACE_ID_LIMIT,
    parse_www_authenticate,
    trace_id,
)

__all__ = [
    "APP_ADVICE",
    "AUTH_HINTS",
    "PERMISSION_CODES",
    "RATE_LIMIT_CODES",
    "RELOGIN_CODES",
    "TRACE_ID_LIMIT",
    "TRANSIENT_CODES",
    "app_block_from",
    "app_block_kind",
    "build_error",
    "classify",
    "decode_body",
    "error_from_redirect",
    "parse_error",
    "parse_www_authenticate",
    "trace_id",
]
