"""Small reusable widgets and renderers.

No I/O: widgets never start workers (screens own their workers, and so their errors).
"""
