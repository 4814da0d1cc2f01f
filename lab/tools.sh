#!/usr/bin/env bash
# Installs the controller tool chain into the lab state folder, from scratch when missing:
#   .lab/venv          pinned Python tools (requirements/test.txt), rebuilt when the pins change
#   .lab/collections   collections the tests and the secure profile need, taken from the `ansible` wheel on PyPI
#                      (Galaxy is unreachable), plus this repo linked as sdstack.consul
#   Debian's chromium + chromium-driver, for the browser tests (Selenium drives them by path: nothing
#   downloads a browser or a driver at test time)
. "$(dirname "$0")/lib.sh"

# Debian's python3.11 (built with PGO and LTO) rather than a self-built one: measured here, ansible-playbook
# needs about a fifth less CPU on it, and `make test` is CPU-bound on this machine (docs/lab.md).
PY=${PYTHON:-/usr/bin/python3.11}
PY_PACKAGES=(python3.11 python3.11-venv)
REQ=$REPO_DIR/requirements/test.txt
VENV=$LAB_STATE/venv
# Collections from the ansible community package matching ansible-core 2.19.
ANSIBLE_WHEEL_VERSION=12.3.0
TEST_COLLECTIONS=(containers/podman community/crypto)
COLL=$LAB_STATE/collections
BROWSER_PACKAGES=(chromium chromium-driver)

# This machine's pip config names local indexes that may not exist; drop that noise only.
quiet_pip() { grep -v "is ignored: it is neither a file nor a directory" >&2 || true; }

ensure_venv() {
  local key
  [ -n "${PYTHON:-}" ] || ensure_debian_packages "${PY_PACKAGES[@]}"
  command -v "$PY" > /dev/null || die "$PY not found: the controller needs Python 3.11"
  # The pins and the interpreter: a venv made by another Python is rebuilt.
  key=$( (cat "$REQ"; readlink -f "$(command -v "$PY")") | sha256sum | cut -c1-12)
  [ -f "$VENV/.pins" ] && [ "$(cat "$VENV/.pins")" = "$key" ] && return 0
  log "creating $VENV (pinned tool chain)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  retry 3 "$VENV/bin/pip" install -q --upgrade pip > /dev/null 2> >(quiet_pip)
  retry 3 "$VENV/bin/pip" install -q -r "$REQ" 2> >(quiet_pip) || die "pip install -r $REQ failed"
  echo "$key" > "$VENV/.pins"
}

ensure_collections() {
  local want=$ANSIBLE_WHEEL_VERSION:${TEST_COLLECTIONS[*]} c wheel
  mkdir -p "$COLL/ansible_collections/sdstack"
  # The project's own collection, visible under its FQCN to playbooks, Molecule and pytest.
  ln -sfn "$REPO_DIR" "$COLL/ansible_collections/sdstack/consul"
  [ -f "$COLL/.from-wheel" ] && [ "$(cat "$COLL/.from-wheel")" = "$want" ] && return 0
  wheel=$LAB_CACHE/wheels/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl
  if [ ! -f "$wheel" ]; then
    log "downloading the ansible $ANSIBLE_WHEEL_VERSION wheel (for its collections)"
    retry 3 "$VENV/bin/pip" download -q --no-deps -d "$LAB_CACHE/wheels" "ansible==$ANSIBLE_WHEEL_VERSION" 2> >(quiet_pip) \
      || die "download of ansible==$ANSIBLE_WHEEL_VERSION failed"
  fi
  for c in "${TEST_COLLECTIONS[@]}"; do
    rm -rf "${COLL:?}/ansible_collections/$c"
    "$VENV/bin/python" - "$wheel" "$COLL" "ansible_collections/$c/" <<'PY'
import sys, zipfile
wheel, dest, prefix = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(prefix)])
PY
  done
  echo "$want" > "$COLL/.from-wheel"
}

# ansible-test bootstraps pip in its sanity venvs with a script from an unreachable host:
# give it the stand-in under the cache name it looks for.
ensure_ansible_test_bootstrap() {
  local v
  v=$(grep -hoP "^\s+pip='\K[0-9.]+(?=',)" "$VENV"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
  [ -n "$v" ] || die "cannot tell which pip version ansible-test bootstraps"
  mkdir -p "$HOME/.ansible/test/cache"
  install -m 0644 "$LAB_DIR/get-pip-standin.py" "$HOME/.ansible/test/cache/get_pip_${v//./_}.py"
}


mkdir -p "$LAB_CACHE"
timed browser ensure_debian_packages "${BROWSER_PACKAGES[@]}"
timed venv ensure_venv
timed collections ensure_collections
ensure_ansible_test_bootstrap
