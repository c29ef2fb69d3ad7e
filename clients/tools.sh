# Sourced by scripts/generate-clients and scripts/test-clients: installs the clients'
# tooling when it is missing or its pins changed, outside what git tracks.
#
# - clients/typescript/node_modules from package-lock.json (`npm ci`, npm's cache in ~/.npm
#   makes a reinstall quick);
# - a venv in ~/.cache/nexus-clients-venv (NEXUS_CLIENTS_VENV) from
#   clients/python/requirements.txt: openapi-python-client, ruff, httpx, attrs, pytest.
#
# Each install leaves a copy of the file it installed from as a stamp, so a warm run does
# nothing, and a changed pin reinstalls.

CLIENTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLIENTS_VENV="${NEXUS_CLIENTS_VENV:-${HOME:-/tmp}/.cache/nexus-clients-venv}"

ensure_node_tools() {
    local ts="$CLIENTS_DIR/typescript"
    command -v npm >/dev/null 2>&1 || {
        echo "npm is missing: install Node.js 20 or later (Debian: apt-get install nodejs npm)" >&2
        return 1
    }
    if ! cmp -s "$ts/package-lock.json" "$ts/node_modules/.nexus-installed-lock" 2>/dev/null; then
        echo "installing clients/typescript's packages (npm ci)"
        (cd "$ts" && npm ci --no-audit --no-fund --no-update-notifier --prefer-offline --loglevel=error) &&
            cp "$ts/package-lock.json" "$ts/node_modules/.nexus-installed-lock"
    fi
}

ensure_python_tools() {
    local req="$CLIENTS_DIR/python/requirements.txt"
    if ! [ -x "$CLIENTS_VENV/bin/python" ] ||
        ! cmp -s "$req" "$CLIENTS_VENV/.nexus-installed-requirements" 2>/dev/null; then
        echo "installing clients/python's tooling into $CLIENTS_VENV"
        [ -x "$CLIENTS_VENV/bin/python" ] || python3 -m venv "$CLIENTS_VENV" || return 1
        "$CLIENTS_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" &&
            cp "$req" "$CLIENTS_VENV/.nexus-installed-requirements"
    fi
}
