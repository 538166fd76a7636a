"""igtui's headless core: store, crypto, HTTP door, OAuth flow and refresh engine.

Nothing under `igtui.core` imports Textual or Rich; `tests/test_import_hygiene.py` proves it.
"""
