"""Waiting for a condition with a deadline (never a bare sleep), for every scenario's verifier."""

import time

import requests


def wait_for(check, timeout, what, interval=0.5):
    """Poll check() until it returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError("%s: not within %ss (last: %r)" % (what, timeout, last))
