"""Community ID of every flow yagura writes for the community-id spec's
captures matches the spec's published baseline (needs ../shared)."""
import gzip
import json
import os
import tempfile

import common

PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58, "SCTP": 132}


def main():
    a = common.parse_args()
    base = os.path.join(a.shared, "data", "community-id")
    if not os.path.isdir(base):
        print("skipped: %s is absent (it comes with CI's ../shared)" % base)
        raise SystemExit(common.SKIP)
    t = common.Checker("community_id")
    with open(os.path.join(base, "baseline", "baseline_deflt.json")) as f:
        baseline = json.load(f)
    # The baseline lists packets; a flow's ID must be the one listed for
    # its protocol and address pair (ports differ only by direction).
    want = {}
    for b in baseline:
        want.setdefault((b["proto"], frozenset((b["saddr"], b["daddr"]))), set()).add(
            b["communityid"])
    with tempfile.TemporaryDirectory() as d:
        cap = os.path.join(d, "combined.pcap")
        with gzip.open(os.path.join(base, "pcaps", "combined.pcap.gz")) as src, \
                open(cap, "wb") as dst:
            dst.write(src.read())
        _, out, _ = common.run(a.yagura, ["analyze", "--idle-timeout", "315360000",
                                          "--active-timeout", "315360000", cap])
    seen = set()
    for r in common.records(out):
        if r["event_type"] != "flow":
            continue
        proto = PROTO.get(r["proto"]) or int(r["proto"])
        ids = want.get((proto, frozenset((r["src_ip"], r["dest_ip"]))), set())
        t.check(r["community_id"] in ids, "%s %s -> %s: %s not in baseline %s" % (
            r["proto"], r["src_ip"], r["dest_ip"], r["community_id"], sorted(ids)))
        seen.add(r["community_id"])
    every = {b["communityid"] for b in baseline}
    t.check(seen == every, "IDs in the baseline without a flow: %s" % sorted(every - seen))
    t.finish()


main()
