"""igtui's subcommands, one module per area; each defines `register(subparsers)`.

Keep module-level imports to the stdlib and `igtui.commands._common`: every module here is
imported on every start-up, so heavy imports (httpx, the store, cryptography) belong inside the
command functions.
"""
