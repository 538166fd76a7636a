"""igtui: obtain, inspect, refresh and keep alive Instagram Platform API tokens from a terminal.

This module holds only the version, so that `igtui --help` and headless commands stay fast.
"""

__version__ = "0.1.0"
