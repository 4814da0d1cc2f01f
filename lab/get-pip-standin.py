"""Stand-in for pypa's get-pip.py, which ansible-test downloads from a host this machine
cannot reach. Bootstraps pip from the interpreter's own ensurepip, then lets that pip
install what ansible-test asked for (e.g. ``pip==24.2``) from PyPI."""

import subprocess
import sys

# get-pip.py's own flags, not pip's.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])
