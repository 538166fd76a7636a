"""How the sandbox makes Meta say no: usage meters, throttles, app-level blocks, `fail_next`.

A mixin of `World`, kept apart so that the world's data (apps, users, codes, tokens) and the
rules that refuse a call can be read separately. Like the rest of `World`, these methods
assume the caller holds `World.lock`.
"""

from __future__ import annotations

from igtui.sandbox.records import (
    APP_BLOCKS,
    BUC_WINDOW_SECONDS,
    DEFAULT_BUC_BUDGET,
    USAGE_WINDOW_SECONDS,
    FailRule,
    SbApp,
    Throttle,
    WorldError,
)


class Pushback:
    """Meters, throttles, blocks and injected failures (the state lives on `World`)."""

    buc: dict[tuple[str, str], list[int]]
    """(app id, IG user id) -> [window start, calls in the window]."""
    fail_rules: list[FailRule]

    def now(self) -> int:
        """The sandbox clock in Unix seconds (`World.now`)."""
        raise NotImplementedError

    # ── usage accounting and throttles ────────────────────────────────────────────

    def note_call(self, app: SbApp, ig_user_id: str | None) -> None:
        """Count one Graph call against the app (1-hour window) and the app-user pair (24 h)."""
        now = self.now()
        if now - app.window_start >= USAGE_WINDOW_SECONDS or now < app.window_start:
            app.window_start, app.window_calls = now, 0
        app.window_calls += 1
        if ig_user_id is not None:
            entry = self.buc.setdefault((app.app_id, ig_user_id), [now, 0])
            if now - entry[0] >= BUC_WINDOW_SECONDS or now < entry[0]:
                entry[0], entry[1] = now, 0
            entry[1] += 1

    def app_pct(self, app: SbApp) -> int:
        """X-App-Usage's percentage: the app's calls this hour over its budget (100 while code 4 throttles)."""
        throttle = self.active_throttle(app, None)
        if throttle is not None and throttle.code == 4:
            return 100
        return min(100, app.window_calls * 100 // app.budget)

    def buc_pct(self, app: SbApp, ig_user_id: str) -> int:
        """X-Business-Use-Case-Usage's percentage for one app-user pair over the last 24 hours."""
        entry = self.buc.get((app.app_id, ig_user_id))
        return 0 if entry is None else min(100, entry[1] * 100 // DEFAULT_BUC_BUDGET)

    def active_throttle(self, app: SbApp, username: str | None) -> Throttle | None:
        """The app's throttle if it is still running and applies to this user."""
        throttle = app.throttle
        if throttle is None:
            return None
        if self.now() >= throttle.until:
            app.throttle = None
            return None
        if throttle.username is not None and throttle.username != username:
            return None
        return throttle

    def regain_minutes(self, throttle: Throttle) -> int:
        """`estimated_time_to_regain_access`: whole minutes left, at least 1 while it lasts."""
        return max(1, -(-(throttle.until - self.now()) // 60))

    # ── app-level blocks ─────────────────────────────────────────────────────────

    def block_app(self, app: SbApp, kind: str) -> SbApp:
        """Meta acts on the app: every call made with the app's tokens or credentials fails."""
        if kind not in APP_BLOCKS:
            raise WorldError(f"kind must be one of {', '.join(APP_BLOCKS)}")
        app.blocked = kind
        return app

    def unblock_app(self, app: SbApp) -> SbApp:
        """Meta lifts its action on the app: its tokens work again (those still valid)."""
        app.blocked = None
        return app

    # ── fail_next ────────────────────────────────────────────────────────────────

    def take_failure(self, path: str) -> FailRule | None:
        """Consume one matching `fail_next` rule, oldest first."""
        for rule in self.fail_rules:
            if rule.path is None or path.startswith(rule.path):
                rule.count -= 1
                if rule.count <= 0:
                    self.fail_rules.remove(rule)
                return rule
        return None


__all__ = ["Pushback"]
