#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds yagura
# and its dashboard, and brings the platform up on SQLite: a tower with
# demonstration organisations and people, a sample capture analysed by a
# sensor and posted to it, incident reports at every stage and a case
# awaiting the overseers (scripts/demo.py, on the first run; later runs
# reuse var/demo). It prints the URL and leaves the tower running.
#
#   scripts/run.sh            the tower in the foreground; Ctrl-C stops it
#   scripts/run.sh --detach   the tower in the background; run.sh exits
#   scripts/run.sh --stop     stops a detached tower
#
#   SAMPLE_PACKETS=N     packets of benign traffic in the sample (default 200,000;
#                        the planted attacks come on top)
#   YAGURA_LISTEN=A:P    where the tower listens (default 127.0.0.1:8443, HTTPS with a
#                        demonstration CA made in var/demo/tls)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=foreground
case "${1:-}" in
"") ;;
--detach) mode=detach ;;
--stop) mode=stop ;;
-h | --help)
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "run: unknown option '$1' (try --help)" >&2
	exit 1
	;;
esac

demo=var/demo
pidfile=$demo/tower.pid
running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

if [ "$mode" = stop ]; then
	if running; then
		kill -TERM "$(cat "$pidfile")"
		for _ in $(seq 100); do running || break; sleep 0.1; done
		rm -f "$pidfile"
		echo "run: the tower stopped" >&2
	else
		rm -f "$pidfile"
		echo "run: no tower of run.sh is running" >&2
	fi
	exit 0
fi
if running; then
	echo "run: a tower is already running (pid $(cat "$pidfile")); scripts/run.sh --stop stops it" >&2
	exit 1
fi

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# The build makes the dashboard too (web/dist: npm ci and Vite, when npm is here).
cmake --build build -j"$(nproc)" >/dev/null

mkdir -p "$demo"
chmod 700 "$demo"
packets=${SAMPLE_PACKETS:-200000}
sample=var/sample-$packets.pcap
if [ ! -s "$sample" ]; then
	echo "run: generating $sample ($packets packets of mixed TCP, TLS, HTTP, DNS, UDP," \
		"ICMP, and planted attacks)" >&2
	build/bench/genpcap -n "$packets" -f $((packets / 25)) -a -t "$sample.planted.json" \
		"$sample" >/dev/null
fi

listen=${YAGURA_LISTEN:-127.0.0.1:8443}
url="https://$listen"
store=$demo/tower.db
# HTTPS with a demonstration CA (scripts/demo-tls.sh): the tower's
# certificate, and the sensor's client certificate, which is how the sensor
# authenticates: no token.
scripts/demo-tls.sh "$demo/tls" sensor-tokyo-ix
fresh=0
# The tower refuses a store others can read; an earlier run's store was
# made before the store was made private.
[ ! -e "$store" ] || chmod o-rwx "$store" "$store"-* 2>/dev/null || true
if [ ! -s "$store" ]; then
	fresh=1
	mkdir -p "$demo/countermeasures"
	build/yagura admin init --store "$store" --log-key "$demo/log.key" \
		>"$demo/admin.token.new" 2>>"$demo/tower.log"
	mv "$demo/admin.token.new" "$demo/admin.token"
	chmod 600 "$demo/admin.token"
	cat >"$demo/tower.ini" <<EOF
; The demonstration tower of scripts/run.sh (docs/tower.md).
[tower]
store = $store

[tls]
cert = $demo/tls/server.pem
key = $demo/tls/server.key
client_ca = $demo/tls/ca.pem

[log]
key = $demo/log.key
checkpoint_interval = 10s

[countermeasures]
dir = $demo/countermeasures

; The sample's attackers have documentation addresses (RFC 5737), which
; the never-block list keeps out of cases; the demonstration lets them in.
; A real tower has no lab_allow.
[cases]
lab_allow = 203.0.113.0/24, 198.51.100.0/24
EOF
fi

build/yagura tower --config "$demo/tower.ini" --listen "$listen" >>"$demo/tower.log" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"
stop_tower() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}
up=0
for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		break
	fi
	if python3 -c "import ssl,sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2,
context=ssl.create_default_context(cafile=sys.argv[2]))" "$url/healthz" "$demo/tls/ca.pem" \
		2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
if [ "$up" -ne 1 ]; then
	stop_tower
	echo "run: the tower did not start on $listen; its last words ($demo/tower.log):" >&2
	tail -n 5 "$demo/tower.log" >&2
	exit 2
fi

if [ "$fresh" -eq 1 ]; then
	if ! scripts/demo.py --yagura build/yagura --url "$url" --dir "$demo" \
		--admin-token "$demo/admin.token" --capture "$sample" --tls "$demo/tls" \
		--planted "$sample.planted.json"; then
		stop_tower
		# A half-made demonstration is not reused: the next run starts over.
		rm -f "$store" "$store"-* "$demo/tower.ini" "$demo/admin.token"
		echo "run: the demonstration could not be set up (above)" >&2
		exit 2
	fi
fi

echo >&2
if [ -s web/dist/index.html ]; then
	echo "run: the platform is up: open $url/ and log in as one of the people above" >&2
	echo "run: (its certificate is the demonstration CA's, $demo/tls/ca.pem: import that" \
		"into the browser, or accept the warning)" >&2
else
	echo "run: the tower is up at $url/ (its API; the dashboard is not built)" >&2
fi
if [ "$fresh" -eq 0 ]; then
	echo "run: (the store of an earlier run, $store; the passwords were shown then)" >&2
fi
if [ "$mode" = detach ]; then
	echo "run: the tower runs in the background (pid $pid, log $demo/tower.log);" \
		"scripts/run.sh --stop stops it" >&2
	exit 0
fi
echo "run: Ctrl-C stops it" >&2
trap 'echo >&2; echo "run: stopping the tower" >&2; stop_tower; exit 0' INT TERM
wait "$pid" || true
rm -f "$pidfile"
