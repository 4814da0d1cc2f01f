"""A fresh clone as a new user has it: exactly the tracked files of this checkout, in a temporary
folder, run with a clean environment (no ANSIBLE_* variables, a temporary HOME). The only thing
the user installed besides ansible-core is community.crypto, in Ansible's default per-user
collections folder (~/.ansible/collections), as `ansible-galaxy collection install` puts it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The lab's copy of community.crypto (lab/tools.sh takes it from the ansible wheel).
CRYPTO = REPO / ".lab" / "collections" / "ansible_collections" / "community" / "crypto"
# ansible-core's commands from this venv, nothing else of it.
ANSIBLE_BIN = Path(sys.executable).parent


def tracked_copy(dest):
    """Copy every tracked file of the working tree (as it is now, so a file deleted on purpose stays
    away) to dest, symbolic links as links: what `git clone` gives, uncommitted edits included."""
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached"], check=True, capture_output=True).stdout
    for rel in sorted({p for p in out.decode().split("\0") if p}):
        src, dst = REPO / rel, dest / rel
        if not os.path.lexists(src):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


def user_home(home):
    """A HOME whose ~/.ansible/collections holds only community.crypto."""
    assert CRYPTO.is_dir(), f"{CRYPTO} missing: run lab/tools.sh"
    ns = home / ".ansible" / "collections" / "ansible_collections" / "community"
    ns.mkdir(parents=True)
    (ns / "crypto").symlink_to(CRYPTO)
    return home


def run(cmd, cwd, home, check=True):
    """Run an ansible command in cwd as a new user would: PATH, HOME, a UTF-8 locale and
    NO_COLOR, no ANSIBLE_* variable.
    Returns stdout + stderr; with check, a non-zero exit fails the test with that output."""
    env = {"PATH": f"{ANSIBLE_BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LC_ALL": "C.UTF-8",
           "NO_COLOR": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, f"{' '.join(map(str, cmd))} in {cwd} exited {proc.returncode}:\n{out}"
    return out
