"""Sinks: a refreshed or newly logged-in token pushed to the places that use it.

* `config` — what a sink is (the sealed configuration and the listed row); pure.
* `files` — atomic file writes and the dotenv / JSON / raw renderings.
* `command` — running a command sink: token on stdin, timeout, process-group kill, redacted output.
* `deliver` — `Deliverer`: which sinks are pending, opening their sealed configuration, delivering,
  recording the outcome (store, history, notices). The refresh engine and the login flow call it;
  no front end delivers on its own.

This package's `__init__` imports nothing, so the store can use `config` cheaply.
"""
