#!/usr/bin/env bash
# Private NATS JetStream servers for tests: one, or a cluster of three, in a
# scratch directory, on free loopback ports.
#
#   scripts/nats-test.sh start [--cluster 3]  start (or find running); prints the URL(s)
#   scripts/nats-test.sh url                  print the client URL(s), comma-separated
#   scripts/nats-test.sh stop                 kill every node and remove the directory
#   scripts/nats-test.sh status               exit 0 if every node is up and ready
#   scripts/nats-test.sh stop-node N [kill|term]  kill node N: SIGKILL by default (a crash,
#                                             its store stays); term: SIGTERM, a clean shutdown
#   scripts/nats-test.sh start-node N         start node N again on its ports and store
#
# Environment: YAGURA_NATS_DIR (default ${TMPDIR:-/tmp}/yagura-nats-$UID) holds
# one directory per node (n1, n2, n3: config, store, log, pid, ports);
# YAGURA_NATS_SERVER names the nats-server binary (default: PATH, then
# /usr/sbin, where Debian puts it); YAGURA_NATS_CONF_EXTRA names a file whose
# text is added to every node's configuration (users and permissions, for
# tests of them). Without it nodes have no authentication: for tests only.
# A node counts as ready when its monitoring port answers /healthz,
# which for JetStream waits until the node is in contact with a meta leader.
# Exit codes: 0 ok, 1 failure (one line on stderr says why), 2 usage,
# 77 nats-server is not installed (so that a test calling start can skip).
set -euo pipefail

prog=nats-test
dir=${YAGURA_NATS_DIR:-${TMPDIR:-/tmp}/yagura-nats-$(id -u)}
cluster_name=yagura-test

die() {
	echo "$prog: $*" >&2
	exit 1
}

find_server() {
	local s
	if [ -n "${YAGURA_NATS_SERVER:-}" ]; then
		if [ -x "$YAGURA_NATS_SERVER" ]; then
			echo "$YAGURA_NATS_SERVER"
			return
		fi
		echo "$prog: YAGURA_NATS_SERVER=$YAGURA_NATS_SERVER is not an executable" >&2
		exit 77
	fi
	for s in "$(command -v nats-server 2>/dev/null || true)" /usr/sbin/nats-server /usr/local/bin/nats-server; do
		if [ -n "$s" ] && [ -x "$s" ]; then
			echo "$s"
			return
		fi
	done
	echo "$prog: nats-server not found (PATH, /usr/sbin); run scripts/setup.sh or apt-get install nats-server" >&2
	exit 77
}

# Prints N distinct free loopback ports, held together while picking so that
# none is picked twice.
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

nodes() {
	[ -f "$dir/nodes" ] && cat "$dir/nodes" || echo 0
}

node_pid() {
	[ -f "$dir/n$1/pid" ] && cat "$dir/n$1/pid" 2>/dev/null || true
}

# A killed node whose parent is gone may linger as a zombie where nothing
# reaps orphans (a container's PID 1): that counts as dead.
pid_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed -n 's/^[0-9]* ([^)]*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
	[ "$st" != Z ]
}

node_alive() {
	local pid
	pid=$(node_pid "$1")
	[ -n "$pid" ] && pid_alive "$pid"
}

# GET /healthz on the node's monitoring port, in bash alone: this runs in a
# polling loop, and a python3 behind a version-manager shim can take seconds
# to start.
node_healthy() {
	local line=
	node_alive "$1" || return 1
	(
		exec 3<>"/dev/tcp/127.0.0.1/$(cat "$dir/n$1/mport")" || exit 1
		printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		read -r -t 2 line <&3 || exit 1
		[[ "$line" == "HTTP/1."?" 200"* ]]
	) 2>/dev/null
}

wait_healthy() { # node seconds
	local i
	for i in $(seq $(($2 * 5))); do
		node_healthy "$1" && return 0
		node_alive "$1" || die "node $1 exited, see $dir/n$1/server.log: $(tail -n 1 "$dir/n$1/server.log" 2>/dev/null)"
		sleep 0.2
	done
	die "node $1 (127.0.0.1:$(cat "$dir/n$1/port")) is not ready after $2 s, see $dir/n$1/server.log: $(tail -n 1 "$dir/n$1/server.log" 2>/dev/null)"
}

url() {
	local i out=
	for i in $(seq "$(nodes)"); do
		out="${out:+$out,}nats://127.0.0.1:$(cat "$dir/n$i/port")"
	done
	echo "$out"
}

is_running() {
	local i n
	n=$(nodes)
	[ "$n" -gt 0 ] || return 1
	for i in $(seq "$n"); do
		node_healthy "$i" || return 1
	done
}

write_config() { # node nodes
	local i nd=$dir/n$1 routes=
	mkdir -p "$nd/store"
	{
		echo "server_name: yagura-n$1"
		echo "listen: 127.0.0.1:$(cat "$nd/port")"
		echo "http: 127.0.0.1:$(cat "$nd/mport")"
		echo "jetstream {"
		echo "  store_dir: \"$nd/store\""
		echo "  max_memory_store: 64MB"
		echo "  max_file_store: 2GB"
		echo "}"
		if [ "$2" -gt 1 ]; then
			for i in $(seq "$2"); do
				[ "$i" -eq "$1" ] && continue
				routes="${routes:+$routes, }nats-route://127.0.0.1:$(cat "$dir/n$i/cport")"
			done
			echo "cluster {"
			echo "  name: $cluster_name"
			echo "  listen: 127.0.0.1:$(cat "$nd/cport")"
			echo "  routes: [$routes]"
			echo "}"
		fi
		if [ -n "${YAGURA_NATS_CONF_EXTRA:-}" ]; then
			cat "$YAGURA_NATS_CONF_EXTRA"
		fi
	} >"$nd/nats.conf"
}

launch() { # node
	local nd=$dir/n$1
	rm -f "$nd/pid"
	# Detached, every descriptor to the log: a ctest fixture must not wait on
	# the server's stdout.
	setsid "$server" -c "$nd/nats.conf" -P "$nd/pid" </dev/null >>"$nd/server.log" 2>&1 &
	local i
	for i in $(seq 50); do
		[ -s "$nd/pid" ] && return 0
		sleep 0.1
	done
	die "node $1 did not start, see $nd/server.log: $(tail -n 1 "$nd/server.log" 2>/dev/null)"
}

start() { # nodes
	local n=$1 i ports tries
	if is_running && [ "$(nodes)" -eq "$n" ]; then
		url
		return
	fi
	# A leftover from a crash, an aborted start or another shape: clean it.
	[ -e "$dir" ] && stop_quiet
	mkdir -p "$dir"
	chmod 700 "$dir"
	echo "$n" >"$dir/nodes"
	for tries in 1 2 3; do
		read -r -a ports <<<"$(free_ports $((n * 3)))"
		for i in $(seq "$n"); do
			mkdir -p "$dir/n$i"
			echo "${ports[$(((i - 1) * 3))]}" >"$dir/n$i/port"
			echo "${ports[$(((i - 1) * 3 + 1))]}" >"$dir/n$i/mport"
			echo "${ports[$(((i - 1) * 3 + 2))]}" >"$dir/n$i/cport"
		done
		for i in $(seq "$n"); do
			write_config "$i" "$n"
			launch "$i"
		done
		sleep 0.3
		local dead=0
		for i in $(seq "$n"); do
			node_alive "$i" || dead=1
		done
		[ "$dead" -eq 0 ] && break
		# Most likely a port was taken between picking and binding.
		[ "$tries" -lt 3 ] || die "nats-server did not start, see $dir/n1/server.log: $(tail -n 1 "$dir/n1/server.log" 2>/dev/null)"
		kill_nodes
	done
	for i in $(seq "$n"); do
		wait_healthy "$i" 60
	done
	url
}

kill_node() { # node signal
	local pid i
	pid=$(node_pid "$1")
	[ -n "$pid" ] || return 0
	kill "-$2" "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/n$1/pid"
}

kill_nodes() {
	local i
	for i in $(seq "$(nodes)"); do
		kill_node "$i" TERM
	done
}

stop_quiet() {
	kill_nodes
	rm -rf "$dir"
}

check_node() {
	[[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$(nodes)" ] ||
		die "no node '${1:-}' (nodes are 1 to $(nodes) in $dir)"
}

usage() {
	echo "usage: scripts/nats-test.sh start [--cluster N]|stop|url|status|stop-node N [kill|term]|start-node N" >&2
	exit 2
}

case "${1:-}" in
start)
	server=$(find_server)
	n=1
	if [ "${2:-}" = "--cluster" ]; then
		n=${3:-}
		[[ "$n" =~ ^[1-9]$ ]] || usage
	elif [ -n "${2:-}" ]; then
		usage
	fi
	start "$n"
	;;
url)
	[ "$(nodes)" -gt 0 ] || die "not running (no instance in $dir); run: scripts/nats-test.sh start"
	url
	;;
status)
	is_running
	;;
stop)
	stop_quiet
	;;
stop-node)
	check_node "${2:-}"
	case "${3:-}" in
	"" | kill) kill_node "$2" KILL ;;
	term) kill_node "$2" TERM ;;
	*) usage ;;
	esac
	;;
start-node)
	server=$(find_server)
	check_node "${2:-}"
	node_alive "$2" || launch "$2"
	wait_healthy "$2" 60
	;;
*)
	usage
	;;
esac
