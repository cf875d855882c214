#!/usr/bin/env bash
# Builds the dashboard (web/) into web/dist, which the tower serves at /:
# its packages from the npm registry (npm ci, as package-lock.json pins
# them), nothing fetched at run time. Without Node.js it says so and
# leaves the tower without a dashboard.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null 2>&1; then
	echo "build-web: no npm: the dashboard is not built (scripts/setup.sh installs it)" >&2
	exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error >&2
fi
npm run --silent build >&2
