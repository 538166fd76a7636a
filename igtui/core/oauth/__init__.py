"""The OAuth login flow for both Meta platforms: callback validation, loopback capture, orchestration.

Submodules are imported directly (``from igtui.core.oauth.callback import parse_callback``) so that a
command that only validates a URL, or only reads the store, does not pay for httpx.
"""
