#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds yagura,
# makes a sample capture and analyzes it.
#
#   scripts/run.sh                 sample of 200,000 packets
#   SAMPLE_PACKETS=N scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

mkdir -p var
packets=${SAMPLE_PACKETS:-200000}
sample=var/sample-$packets.pcap
if [ ! -s "$sample" ]; then
	echo "run: generating $sample ($packets packets of mixed TCP, TLS, HTTP, DNS, UDP, ICMP)" >&2
	build/bench/genpcap -n "$packets" -f $((packets / 25)) "$sample"
fi

echo "run: yagura analyze $sample -o var/sample.eve.json" >&2
build/yagura analyze "$sample" -o var/sample.eve.json
echo >&2
echo "run: first records of var/sample.eve.json, one of each type:" >&2
for t in flow dns tls http; do
	grep -m1 "\"event_type\":\"$t\"" var/sample.eve.json || true
done
