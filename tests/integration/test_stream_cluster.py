#!/usr/bin/env python3
"""src/stream against a three-node JetStream cluster on loopback
(scripts/nats-test.sh start --cluster 3, Debian's nats-server).

streamctl (tests/unit/stream/streamctl.c) publishes 10,000 alerts to a
stream of three replicas; when a third of them are in, the node that leads
the stream is killed (SIGKILL), and started again at two thirds. The
publisher retries each alert with the same id until JetStream acknowledges
it. Then:
  * the stream holds exactly 10,000 messages: retries after a lost
    acknowledgement were dropped by JetStream's de-duplication;
  * the restarted node catches up to 10,000 as well;
  * a durable pull consumer reads every id, each exactly once after
    de-duplication by id (the store's unique key will do that in the tower);
  * a second consumer instance with the same durable name gets nothing more.

Exit 0 when all hold, 1 otherwise (each failure printed), 77 when
nats-server is not installed."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SKIP = common.SKIP
COUNT = 10000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streamctl", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="yagura-stream-")
    nats, env = common.nats_script(args.source, work)
    try:
        return run(args, nats, env, work)
    finally:
        nats("stop", check=False)
        shutil.rmtree(work, ignore_errors=True)


def jsz(env, node):
    """The node's /jsz with stream details; None when it does not answer."""
    port = open(os.path.join(env["YAGURA_NATS_DIR"], "n%d" % node, "mport")).read().strip()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/jsz?accounts=true&streams=true" % port,
                                    timeout=3) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def stream_detail(j, name):
    for acc in (j or {}).get("account_details") or []:
        for st in acc.get("stream_detail") or []:
            if st.get("name") == name:
                return st
    return None


def run(args, nats, env, work):
    c = common.Checker("stream_cluster")
    t0 = time.monotonic()
    urls = nats("start", "--cluster", "3")
    print("cluster: %s (%.1f s)" % (urls, time.monotonic() - t0))
    sargs = ["--urls", urls, "--name", "ALERTS_CLUSTER", "--prefix", "yagura.alerts",
              "--replicas", "3", "--timeout-ms", "2000"]

    pub = subprocess.Popen([args.streamctl, "publish"] + sargs +
                           ["--count", str(COUNT), "--sector", "electricity",
                            "--sensor", "tokyo-1", "--id-prefix", "a", "--deadline-s", "90"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, restarted, summary = None, False, None
    for line in pub.stdout:
        rec = json.loads(line)
        n = rec.get("progress")
        if n is not None and killed is None and n >= COUNT // 3:
            # Kill the node leading the stream: the harder case, a new
            # leader has to be elected while the publisher waits.
            d = None
            for node in (1, 2, 3):
                d = stream_detail(jsz(env, node), "ALERTS_CLUSTER")
                if d and (d.get("cluster") or {}).get("leader"):
                    break
            leader = ((d or {}).get("cluster") or {}).get("leader", "yagura-n1")
            killed = int(leader.rsplit("n", 1)[1])
            nats("stop-node", str(killed))
            print("at %d: killed node %d (%s, the stream's leader) (%.1f s)"
                  % (n, killed, leader, time.monotonic() - t0))
        elif n is not None and killed is not None and not restarted and n >= 2 * COUNT // 3:
            nats("start-node", str(killed))
            restarted = True
            print("at %d: node %d started again (%.1f s)" % (n, killed, time.monotonic() - t0))
        elif "published" in rec:
            summary = rec
    rc = pub.wait(timeout=120)
    err = pub.stderr.read().strip()
    c.check(rc == 0, "publisher exit %d: %s" % (rc, err))
    c.check(killed is not None and restarted, "a node was killed and restarted mid-stream")
    print("publisher: %s (%.1f s)" % (json.dumps(summary), time.monotonic() - t0))
    if summary:
        c.check(summary["published"] + summary["duplicates"] == COUNT,
                "published + duplicates = %d, not %d" % (summary["published"] + summary["duplicates"],
                                                         COUNT))

    info = subprocess.run([args.streamctl, "info"] + sargs, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    msgs = json.loads(info.stdout)["msgs"] if info.returncode == 0 else None
    c.check(msgs == COUNT, "stream holds %s messages, not %d (%s)" % (msgs, COUNT,
                                                                     info.stderr.strip()))

    # The restarted node catches up from the others.
    caught = None
    if killed is not None:
        for _ in range(60):
            d = stream_detail(jsz(env, killed), "ALERTS_CLUSTER")
            caught = (d or {}).get("state", {}).get("messages")
            if caught == COUNT:
                break
            time.sleep(0.5)
        c.check(caught == COUNT, "restarted node %d holds %s messages, not %d"
                % (killed, caught, COUNT))

    cons = subprocess.run([args.streamctl, "consume"] + sargs +
                          ["--durable", "tower", "--idle-ms", "2000", "--batch", "512"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    c.check(cons.returncode == 0, "consumer exit %d: %s" % (cons.returncode, cons.stderr.strip()))
    recs = [json.loads(line) for line in cons.stdout.splitlines()]
    ids = [r["id"] for r in recs if "id" in r]
    want = {"a-%d" % i for i in range(COUNT)}
    c.check(len(set(ids)) == COUNT and set(ids) == want,
            "consumer: %d unique ids of %d, %d missing, %d unexpected"
            % (len(set(ids)), COUNT, len(want - set(ids)), len(set(ids) - want)))
    print("consumer: %d messages, %d unique ids, %d redelivered (%.1f s)"
          % (len(ids), len(set(ids)), len(ids) - len(set(ids)), time.monotonic() - t0))
    c.check(all(r["subject"] == "yagura.alerts.electricity.tokyo-1" for r in recs if "id" in r),
            "every message on yagura.alerts.electricity.tokyo-1")

    again = subprocess.run([args.streamctl, "consume"] + sargs +
                           ["--durable", "tower", "--idle-ms", "1000"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    more = [line for line in again.stdout.splitlines() if '"id"' in line]
    c.check(again.returncode == 0 and not more,
            "second consumer instance got %d more (exit %d)" % (len(more), again.returncode))
    print("total %.1f s" % (time.monotonic() - t0))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
