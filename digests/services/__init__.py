"""Writes for digests, one subject per module.

- subscriptions: double opt-in, options, unsubscribing, reminders and purging.
- sending: each subscriber's digest of a period, exactly once (see its docstring).
"""
