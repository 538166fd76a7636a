"""`python -m igtui` runs the CLI."""

from igtui.cli import main

raise SystemExit(main())
