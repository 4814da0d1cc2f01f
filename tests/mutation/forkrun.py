"""A warm pytest for mutmut's runner, so a mutant costs a fork instead of an interpreter start.

  forkrun.py serve SOCKET TESTS...   collect TESTS once (importing pytest, ansible and every other
                                     third-party module they use), forget the checkout's own modules,
                                     then run each request in a forked child
  forkrun.py run SOCKET ARGS...      what mutmut runs per mutant: pytest ARGS in such a child, which
                                     imports the plugins (so the mutant) afresh from disk

Most of the unit suite's second per run is interpreter start and ansible imports; on this shared
machine, under nice, that made a full run take hours.

``run`` exits 0 when the tests pass and 1 otherwise: mutmut 2 counts every status but 1 as passing,
so a mutant that breaks the import of a plugin (pytest's 2, collection errors) would survive.
"""

import json
import os
import signal
import socket
import sys
import time

# A child still running after this long is ended (a mutant may loop forever); mutmut's own
# timeout ends only the `run` client.
CHILD_TIMEOUT_S = 300


def _forget_own_modules():
    root = os.getcwd() + os.sep
    for name, module in list(sys.modules.items()):
        if name.startswith("ansible_collections") or (getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


def _child(request, log):
    status = 3  # pytest's "internal error": whatever goes wrong here, the child must not serve on
    try:
        os.chdir(request["cwd"])
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        import pytest
        status = int(pytest.main(request["args"]))
    finally:
        os._exit(status)


def _wait(pid):
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -signal.SIGKILL


def serve(path, warmup):
    import pytest
    if pytest.main(["-q", "--collect-only", *warmup]) != 0:
        sys.exit("forkrun: collecting %s failed" % " ".join(warmup))
    _forget_own_modules()
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    log = os.path.abspath(path + ".log")
    while True:
        conn, _peer = server.accept()
        with conn:
            request = json.loads(conn.makefile().readline())
            pid = os.fork()
            if pid == 0:
                server.close()
                _child(request, log)
            conn.sendall(b"%d\n" % _wait(pid))


def run(path, args):
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(path)
        conn.sendall(json.dumps({"cwd": os.getcwd(), "args": args}).encode() + b"\n")
        status = int(conn.makefile().readline())
    sys.exit(0 if status == 0 else 1)


if __name__ == "__main__":
    {"serve": serve, "run": run}[sys.argv[1]](sys.argv[2], sys.argv[3:])
