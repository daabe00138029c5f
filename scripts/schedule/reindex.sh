#!/usr/bin/env bash
# The nightly reindex, as schedulers run it: from the install directory, with the service's
# NEWSDEDUP_* settings in the environment (or in /etc/newsdedup.env when it exists).
# Exit status: 0 done, 3 another reindex was running (not an error for a scheduler), else failed.
set -euo pipefail
cd "${NEWSDEDUP_HOME:-$(dirname "$0")/../..}"
if [ -f /etc/newsdedup.env ]; then
    set -a
    # shellcheck disable=SC1091
    . /etc/newsdedup.env
    set +a
fi
status=0
.venv/bin/newsdedup reindex || status=$?
if [ "$status" -eq 3 ]; then
    echo "newsdedup reindex: another run holds the lock; skipped" >&2
    exit 0
fi
exit "$status"
