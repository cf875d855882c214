#!/usr/bin/env bash
# Installs the Debian packages yagura needs to build, test and benchmark.
# Idempotent: installs only what is missing. Uses sudo when not root.
#
#   scripts/setup.sh           build + test dependencies
#   scripts/setup.sh --bench   also the peers bench/ compares against
set -euo pipefail

# libnats-dev: the NATS C client under src/stream (JetStream, docs/stream.md).
# libgnutls28-dev: the tower's HTTPS is libmicrohttpd's GnuTLS, and src/http/tls.c
# reads client certificates with it. openssl: scripts/demo-tls.sh's certificates.
build_pkgs=(build-essential cmake pkg-config libpcap-dev libssl-dev
            libjansson-dev libyajl-dev libcmocka-dev python3 libmicrohttpd-dev libsqlite3-dev
            libpq-dev libsodium-dev libcurl4-openssl-dev libinih-dev libgnutls28-dev openssl
            libnats-dev)
# golang-go and golang-golang-x-mod-dev: Go's sumdb/note and sumdb/tlog, a
# verifier of the transparency log nobody here wrote (tests/interop/tlogcheck).
# bind9, bind9-dnsutils, unbound, nftables, bird2, gobgpd, iproute2: the programs that
# load the countermeasure files (tests/integration/test_countermeasures.py).
# softflowd: a real NetFlow v5/v9/IPFIX exporter for src/netflow's test
# (tests/integration/test_netflow.py).
# chromium: the browser tests of the dashboard (tests/browser, playwright-core
# drives it); fonts-noto-cjk: Japanese in its pages and their screenshots.
# python3-jsonschema: the OASIS STIX schemas (tests/integration/test_stix.py, run
# by /usr/bin/python3); python3-requests, -six, -tz: the OASIS taxii2-client.
# nfdump: nfcapd receives analyze --ipfix, nfdump reads it back (test_ipfix.py).
# tcpreplay: replays a capture onto a veth pair for the live sensor
# (tests/integration/test_sensor_live.py).
# nats-server: real JetStream servers, one or a cluster of three, for src/stream's
# tests (scripts/nats-test.sh, tests/unit/stream, test_stream_cluster.py).
# nginx-light, wrk: two towers behind nginx under wrk's load, one killed
# (tests/integration/test_towers.py); wrk also drives bench/tower-run.
# faketime: a sensor whose clock is hours off (test_clock_skew.py).
test_pkgs=(tshark nats-server nginx-light wrk faketime clang libclang-rt-14-dev postgresql python3-cryptography nfdump
           python3-jsonschema python3-requests python3-six python3-tz
           golang-go golang-golang-x-mod-dev
           bind9 bind9-dnsutils unbound nftables bird2 gobgpd iproute2 softflowd tcpreplay
           chromium fonts-noto-cjk)
bench_pkgs=(nfdump softflowd argus-server tshark time wrk)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
if [ "${1:-}" = "--bench" ]; then
	want+=("${bench_pkgs[@]}")
fi

# Node.js and npm build the dashboard (web/, the CMake target web): Debian's,
# unless the machine has a Node.js of its own (which carries its npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
