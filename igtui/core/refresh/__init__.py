"""Keeping tokens alive: policy (pure), single-flight locks, notifications, and the engine."""
