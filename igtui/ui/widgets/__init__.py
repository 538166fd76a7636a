"""Small reusable widgets and renderers (no I/O: widgets never start workers, style.md §2.4)."""
