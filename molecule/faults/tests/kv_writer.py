"""Continuous sequenced KV writer for the fault scenario.

Every --interval seconds it PUTs <prefix><seq> (zero-padded) with a JSON body naming the
sequence number, and logs one JSON line per attempt to --log:
  {"seq", "attempt", "target", "t_send", "t_done", "ok", "status", "error"}
"ok" is true only for an acknowledged write (HTTP 200 and body "true"). A failed attempt is
retried on the next target (client-side failover, as a load balancer would) up to --attempts
times; a sequence number never acknowledged is simply not expected back.

It stops cleanly on SIGTERM/SIGINT. Standard library only: it runs on the controller next to
the tests, whatever the venv holds.
"""

import argparse
import http.client
import json
import signal
import sys
import time
from urllib.parse import urlsplit

_stop = False


def _on_signal(_signum, _frame):
    global _stop  # pylint: disable=global-statement
    _stop = True


def put(target, path, body, connect_timeout, read_timeout):
    """One PUT; returns (status, text). Raises OSError/HTTPException on transport failures."""
    u = urlsplit(target)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=connect_timeout)
    try:
        conn.connect()
        # A leaderless server holds writes up to its RPC hold timeout (7 s): wait that long.
        conn.sock.settimeout(read_timeout)
        conn.request("PUT", path, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", action="append", required=True, help="base URL; repeat for failover")
    ap.add_argument("--prefix", default="faults/")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--attempts", type=int, default=3)
    ap.add_argument("--connect-timeout", type=float, default=1.0)
    ap.add_argument("--read-timeout", type=float, default=10.0)
    ap.add_argument("--log", required=True)
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    current = 0
    seq = 0
    next_tick = time.monotonic()
    with open(args.log, "a", buffering=1, encoding="utf-8") as log:
        while not _stop:
            seq += 1
            key = "%s%08d" % (args.prefix, seq)
            body = json.dumps({"seq": seq})
            for attempt in range(1, args.attempts + 1):
                target = args.target[current]
                entry = dict(seq=seq, key=key, attempt=attempt, target=target, t_send=time.time())
                try:
                    status, text = put(target, "/v1/kv/" + key, body, args.connect_timeout, args.read_timeout)
                    ok = status == 200 and text.strip() == "true"
                    entry.update(status=status, ok=ok, error=None if ok else text.strip()[:200])
                except (OSError, http.client.HTTPException) as e:
                    entry.update(status=None, ok=False, error="%s: %s" % (type(e).__name__, e))
                entry["t_done"] = time.time()
                log.write(json.dumps(entry) + "\n")
                if entry["ok"]:
                    break
                current = (current + 1) % len(args.target)
                if _stop:
                    break
            next_tick = max(next_tick + args.interval, time.monotonic())
            time.sleep(max(next_tick - time.monotonic(), 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
