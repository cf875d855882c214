#!/usr/bin/env bash
# Makes a demonstration PKI for the tower's HTTPS (docs/tower.md, "TLS"):
# a CA, a server certificate for localhost, 127.0.0.1 and ::1, and a client
# certificate per sensor, all with openssl, ECDSA P-256.
#
#   scripts/demo-tls.sh [DIR [SENSOR...]]     DIR default var/tls, SENSOR default "sensor"
#
# Writes into DIR (made 0700 if missing):
#   ca.pem ca.key            the demonstration CA (10 years)
#   server.pem server.key    the tower's: [tls] cert, key (825 days)
#   SENSOR.pem SENSOR.key    a sensor's client certificate (CN=SENSOR), for
#                            yagura analyze --cert/--key (825 days)
#   SENSOR.fingerprint       "sha256:HEX", for PUT /api/v1/users/{id}/certificate
# and the tower's client CA is ca.pem. Keys are 0600.
#
# Idempotent: a file that exists is kept, never overwritten (delete one to
# make it again; a new CA means new certificates for all). Prints nothing
# but errors. Exit 0 done, 1 usage, 2 openssl failed.
#
# Not for production: the CA key sits beside the certificates it signs.
set -euo pipefail

usage() {
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 1
}
case "${1:-}" in -h | --help) usage ;; esac
dir=${1:-var/tls}
shift || true
sensors=("$@")
[ ${#sensors[@]} -eq 0 ] && sensors=(sensor)
for s in "${sensors[@]}"; do
	case "$s" in
	ca | server | "" | *[!A-Za-z0-9._-]* | .*)
		echo "demo-tls: sensor name '$s': letters, digits, '.', '_' and '-', not ca or server" >&2
		exit 1
		;;
	esac
done
command -v openssl >/dev/null || {
	echo "demo-tls: openssl not found (scripts/setup.sh installs it)" >&2
	exit 2
}

mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077

fail() {
	echo "demo-tls: $*" >&2
	exit 2
}

# newkey FILE: an ECDSA P-256 key, 0600, unless FILE exists.
newkey() {
	[ -e "$1" ] && return 0
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp" 2>/dev/null ||
		fail "$dir/$1: cannot make a key"
	chmod 600 "$1.tmp"
	mv "$1.tmp" "$1"
}

# sign NAME SUBJECT EXTENSIONS: NAME.pem from NAME.key, signed by the CA.
sign() {
	local name=$1 subj=$2 ext=$3
	[ -e "$name.pem" ] && return 0
	newkey "$name.key"
	printf '%s\n' "$ext" >"$name.ext"
	openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null ||
		fail "$dir/$name.csr: cannot make the request"
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 825 -sha256 -extfile "$name.ext" -out "$name.pem.tmp" 2>/dev/null ||
		fail "$dir/$name.pem: cannot sign it"
	chmod 644 "$name.pem.tmp"
	mv "$name.pem.tmp" "$name.pem"
	rm -f "$name.csr" "$name.ext"
}

newkey ca.key
if [ ! -e ca.pem ]; then
	openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=yagura demonstration CA" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem.tmp 2>/dev/null ||
		fail "$dir/ca.pem: cannot make the CA"
	chmod 644 ca.pem.tmp
	mv ca.pem.tmp ca.pem
fi
sign server "/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
for s in "${sensors[@]}"; do
	sign "$s" "/CN=$s" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
	if [ ! -e "$s.fingerprint" ]; then
		fp=$(openssl x509 -in "$s.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
		[ ${#fp} -eq 64 ] || fail "$dir/$s.pem: cannot take its fingerprint"
		printf 'sha256:%s\n' "$fp" >"$s.fingerprint"
		chmod 644 "$s.fingerprint"
	fi
done
