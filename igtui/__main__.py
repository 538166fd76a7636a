"""`python -m igtui` runs the CLI."""

from igtui.cli import run

run()
