#!/usr/bin/env bash
# A private PostgreSQL for tests: its own cluster in a scratch directory, on a
# free loopback port, owned by an unprivileged user.
#
#   scripts/pg-test.sh start   start it (or find it running); prints the URL
#   scripts/pg-test.sh url     print the URL of the running instance
#   scripts/pg-test.sh stop    shut it down and remove its directory
#   scripts/pg-test.sh status  exit 0 if it is running
#   scripts/pg-test.sh restart [fast|immediate]
#                              restart it on its port and data (immediate: as
#                              after a crash, with recovery from the WAL)
#
# Environment: YAGURA_PG_DIR (default ${TMPDIR:-/tmp}/yagura-pg-$UID) holds the
# cluster; YAGURA_PG_USER (default yagura-pg, created when running as root)
# owns it. The URL is postgres://yagura@127.0.0.1:PORT/yagura_test; the
# cluster trusts loopback connections, so it is for tests only.
# Exit codes: 0 ok, 1 failure (one line on stderr says why), 2 usage.
set -euo pipefail

prog=pg-test
dir=${YAGURA_PG_DIR:-${TMPDIR:-/tmp}/yagura-pg-$(id -u)}
runas=${YAGURA_PG_USER:-yagura-pg}
dbuser=yagura
dbname=yagura_test

die() {
	echo "$prog: $*" >&2
	exit 1
}

find_bindir() {
	local d
	if [ -n "${YAGURA_PG_BINDIR:-}" ]; then
		echo "$YAGURA_PG_BINDIR"
		return
	fi
	# Newest server first: /usr/lib/postgresql/15/bin, 14/bin, ...
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return
		fi
	done
	d=$(command -v pg_ctl 2>/dev/null || true)
	if [ -n "$d" ] && [ -x "$(dirname "$d")/initdb" ]; then
		dirname "$d"
		return
	fi
	die "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin; run scripts/setup.sh or apt-get install postgresql"
}

# Runs a command as the cluster's owner (initdb and postgres refuse root).
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$runas" -- "$@"
	else
		"$@"
	fi
}

ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id -u "$runas" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$runas" 2>/dev/null ||
			die "cannot create system user $runas (useradd failed); set YAGURA_PG_USER to an existing unprivileged user"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

is_running() {
	[ -f "$dir/port" ] && [ -f "$dir/data/postmaster.pid" ] || return 1
	"$bindir/pg_isready" -q -h 127.0.0.1 -p "$(cat "$dir/port")" -t 2
}

url() {
	echo "postgres://$dbuser@127.0.0.1:$(cat "$dir/port")/$dbname"
}

start() {
	local port tries
	if is_running; then
		url
		return
	fi
	# A leftover directory from a crash or an aborted start: clean it first.
	if [ -e "$dir" ]; then
		stop_quiet
	fi
	ensure_user
	mkdir -p "$dir"
	chmod 700 "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$runas:" "$dir"
	as_owner "$bindir/initdb" -D "$dir/data" -U "$dbuser" --auth=trust -E UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
		die "initdb failed, see $dir/initdb.log: $(tail -n 1 "$dir/initdb.log")"
	for tries in 1 2 3 4 5; do
		port=$(free_port)
		echo "$port" >"$dir/port"
		if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir/data' -c max_connections=200 -c fsync=on -c synchronous_commit=on" \
			start >/dev/null 2>&1; then
			break
		fi
		# Most likely the port was taken between picking and binding.
		[ "$tries" -lt 5 ] || die "postgres did not start, see $dir/server.log: $(tail -n 1 "$dir/server.log" 2>/dev/null)"
	done
	for _ in $(seq 120); do
		"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 && break
		sleep 0.5
	done
	"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 ||
		die "postgres on 127.0.0.1:$port is not ready, see $dir/server.log"
	"$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$dbuser" "$dbname" 2>"$dir/createdb.log" ||
		die "createdb $dbname failed: $(tail -n 1 "$dir/createdb.log")"
	url
}

stop_quiet() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

bindir=$(find_bindir)
case "${1:-}" in
start)
	start
	;;
url)
	is_running || die "not running (no instance in $dir); run: scripts/pg-test.sh start"
	url
	;;
status)
	is_running
	;;
stop)
	stop_quiet
	;;
restart)
	is_running || die "not running (no instance in $dir)"
	mode=${2:-fast}
	case $mode in fast | immediate) ;; *) die "restart: fast or immediate, not $mode" ;; esac
	# pg_ctl restart keeps the options the server was started with.
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m "$mode" -w -t 60 restart \
		>/dev/null 2>&1 || die "restart failed, see $dir/server.log: $(tail -n 1 "$dir/server.log")"
	port=$(cat "$dir/port")
	for _ in $(seq 120); do
		"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 && break
		sleep 0.5
	done
	"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 || die "not ready after the restart"
	;;
*)
	echo "usage: scripts/pg-test.sh start|stop|url|status|restart" >&2
	exit 2
	;;
esac
