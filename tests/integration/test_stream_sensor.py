#!/usr/bin/env python3
"""yagura analyze --stream against real nats-servers on loopback
(scripts/nats-test.sh, Debian's nats-server), read back with streamctl
(tests/unit/stream/streamctl.c).

On a capture with planted attacks (bench/genpcap -a):
  * every alert of the EVE output is in the stream exactly once, on
    yagura.alerts.electricity.s1, with its alert_id;
  * the same spooled alerts sent again (a crash after the PubAcks and
    before the spool's offset was written) add nothing: JetStream's
    de-duplication by SENSOR.ALERT_ID;
  * with the server down the run ends with exit 5 and every alert in the
    spool; once the server is back, a run on an empty capture publishes
    the spool: each alert once;
  * a bad sensor name exits 1 with one line;
  * three nodes, stream of three replicas from [stream] in --config
    (its url list written with blanks after the commas): the node leading
    the stream killed during the run, nothing lost.

Exit 0 when all hold, 1 otherwise (each failure printed), 77 when
nats-server is not installed."""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SKIP = common.SKIP
SUBJECT = "yagura.alerts.electricity.s1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--genpcap", required=True)
    ap.add_argument("--streamctl", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="yagura-stream-sensor-")
    nats, env = common.nats_script(args.source, work)
    try:
        return run(args, nats, env, work)
    finally:
        nats("stop", check=False)
        shutil.rmtree(work, ignore_errors=True)


def analyze(args, opts, cap):
    p = subprocess.run([args.yagura, "analyze"] + opts + [cap], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, timeout=300)
    return p.returncode, p.stderr


def eve_alerts(path):
    with open(path) as f:
        recs = [json.loads(line) for line in f]
    return [r for r in recs if r.get("event_type") == "alert"]


def consume(args, urls, durable, extra=(), tries=1):
    """Every message the durable consumer has not acked yet, as dicts. A
    cluster that lost a node may answer only once it elected new leaders:
    tries, a second apart."""
    for i in range(tries):
        p = subprocess.run([args.streamctl, "consume", "--urls", urls, "--durable", durable,
                            "--idle-ms", "1500"] + list(extra),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120)
        if p.returncode == 0:
            return [r for r in map(json.loads, p.stdout.splitlines()) if "id" in r]
        time.sleep(1)
    raise SystemExit("streamctl consume: exit %d: %s" % (p.returncode, p.stderr.strip()))


def stream_msgs(args, urls, extra=()):
    p = subprocess.run([args.streamctl, "info", "--urls", urls] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return json.loads(p.stdout)["msgs"] if p.returncode == 0 else None


def spool_lines(d):
    n = 0
    for name in os.listdir(d) if os.path.isdir(d) else []:
        if name.startswith("alerts-") and name.endswith(".jsonl"):
            sent = 0
            if os.path.exists(os.path.join(d, name + ".sent")):
                sent = int(open(os.path.join(d, name + ".sent")).read().strip() or 0)
            with open(os.path.join(d, name), "rb") as f:
                f.seek(sent)
                n += f.read().count(b"\n")
    return n


def stream_state(env, name):
    """(leader node, messages) of stream name from the nodes' /jsz, which,
    unlike streamctl, leaves the stream's configuration alone."""
    for node in (1, 2, 3):
        port = open(os.path.join(env["YAGURA_NATS_DIR"], "n%d" % node, "mport")).read().strip()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%s/jsz?accounts=true&streams=true"
                                        % port, timeout=3) as r:
                j = json.load(r)
        except (OSError, ValueError):
            continue
        for acc in j.get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                leader = (st.get("cluster") or {}).get("leader")
                if st.get("name") == name and leader:
                    return int(leader.rsplit("n", 1)[1]), st.get("state", {}).get("messages", 0)
    return None, 0


def flows(c, args, nats, urls, base, cap, work, sspool):
    eve = os.path.join(work, "eve-flows.jsonl")
    before = stream_msgs(args, urls)
    rc, err = analyze(args, base + ["--stream-flows", "-o", eve], cap)
    c.check(rc == 0, "flows: exit %d: %s" % (rc, err.strip()[-400:]))
    with open(eve) as f:
        want = sorted(line.rstrip("\n") for line in f if '"event_type":"flow"' in line)
    got = consume(args, urls, "flows", ["--name", "YAGURA_FLOWS", "--prefix", "yagura.flows",
                                        "--data", "yes"])
    bodies = sorted(json.dumps(m["data"], separators=(",", ":")) for m in got)
    c.check(len(want) > 1000 and len(got) == len(want),
            "flows: %d flow records written, %d in YAGURA_FLOWS" % (len(want), len(got)))
    c.check(bodies == sorted(json.dumps(json.loads(w), separators=(",", ":")) for w in want),
            "flows: each message is a flow record as the EVE output has it")
    c.check(all(m["subject"] == "yagura.flows.electricity.s1" for m in got),
            "flows: subjects %s" % sorted({m["subject"] for m in got}))
    c.check("stream: %d flow records, %d published, %d stored, 0 dropped, 0 failed"
            % (len(want), len(want), len(want)) in err,
            "flows: summary %s" % [l for l in err.splitlines() if "flow records" in l])
    c.check(stream_msgs(args, urls) == before + len(eve_alerts(eve)),
            "flows: the alerts' stream took the alerts only: %s -> %s"
            % (before, stream_msgs(args, urls)))
    consume(args, urls, "t")  # the alerts of this run, read past

    nats("stop-node", "1")
    t1 = time.monotonic()
    rc, err = analyze(args, base + ["--stream-flows", "-o", os.devnull], cap)
    took = time.monotonic() - t1
    c.check(rc == 5 and "flow records not stored" in err,
            "flows, server down: exit %d, %s" % (rc, [l for l in err.splitlines()
                                                     if "flow" in l][-2:]))
    print("flows: %d records through YAGURA_FLOWS; server down: exit %d in %.1f s"
          % (len(got), rc, took))
    nats("start-node", "1")
    rc, err = analyze(args, base + ["-o", os.devnull], os.path.join(work, "empty.pcap"))
    c.check(rc == 0 and spool_lines(sspool) == 0,
            "flows: the alerts spooled while down were published: exit %d" % rc)
    consume(args, urls, "t")


def run(args, nats, env, work):
    c = common.Checker("stream_sensor")
    t0 = time.monotonic()
    cap, empty = os.path.join(work, "planted.pcap"), os.path.join(work, "empty.pcap")
    subprocess.run([args.genpcap, "-a", "-n", "100000", "-f", "4000", cap], check=True,
                   stdout=subprocess.DEVNULL)
    with open(empty, "wb") as f:  # a pcap header and no packet
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    urls = nats("start")
    spool = os.path.join(work, "spool")
    sspool = os.path.join(spool, "stream")
    base = ["--stream", urls, "--stream-sector", "electricity", "--stream-sensor", "s1",
            "--spool", spool, "--detect", "vol.pps=1000", "--post-wait", "3"]

    # 1. Every alert once, on its subject, with its id.
    eve1 = os.path.join(work, "eve1.jsonl")
    rc, err = analyze(args, base + ["-o", eve1], cap)
    c.check(rc == 0, "first run: exit %d: %s" % (rc, err.strip()[-400:]))
    a1 = [a["alert_id"] for a in eve_alerts(eve1)]
    c.check(len(a1) > 10 and len(set(a1)) == len(a1),
            "first run: %d alerts, %d distinct ids" % (len(a1), len(set(a1))))
    got = consume(args, urls, "t")
    ids = [m["id"] for m in got]
    c.check(sorted(ids) == sorted(a1),
            "stream has %d messages (%d distinct) for %d alerts; missing %d, extra %d"
            % (len(ids), len(set(ids)), len(a1), len(set(a1) - set(ids)),
               len(set(ids) - set(a1))))
    c.check(all(m["subject"] == SUBJECT and m["sensor"] == "s1" for m in got),
            "subjects: %s" % sorted({m["subject"] for m in got}))
    c.check(spool_lines(sspool) == 0, "first run left %d in the spool" % spool_lines(sspool))
    c.check("stream: %d alerts spooled, %d published" % (len(a1), len(a1)) in err,
            "first run's summary line: %s" % [l for l in err.splitlines() if "stream:" in l])
    print("run 1: %d alerts, %d in the stream (%.1f s)" % (len(a1), len(ids),
                                                          time.monotonic() - t0))

    # 2. The same alerts spooled again, as after a crash between the
    # PubAcks and the offset's write: all duplicates, nothing added.
    with open(eve1) as f, open(os.path.join(sspool, "alerts-1-1.jsonl"), "w") as out:
        for line in f:
            if '"event_type":"alert"' in line:
                out.write(line)
    rc, err = analyze(args, base + ["-o", os.devnull], empty)
    c.check(rc == 0, "resend run: exit %d: %s" % (rc, err.strip()[-400:]))
    c.check("%d published (%d of them already in the stream)" % (len(a1), len(a1)) in err,
            "resend: summary %s" % [l for l in err.splitlines() if "stream:" in l])
    c.check(stream_msgs(args, urls) == len(a1),
            "after the resend the stream holds %s, not %d" % (stream_msgs(args, urls), len(a1)))
    c.check(consume(args, urls, "t") == [], "the resend delivered something new")
    c.check(spool_lines(sspool) == 0, "resend left %d in the spool" % spool_lines(sspool))

    # 3. Server down: exit 5, all in the spool; back: the next run sends them.
    nats("stop-node", "1")
    eve2 = os.path.join(work, "eve2.jsonl")
    t1 = time.monotonic()
    rc, err = analyze(args, base + ["-o", eve2], cap)
    t_down = time.monotonic() - t1
    a2 = [a["alert_id"] for a in eve_alerts(eve2)]
    c.check(rc == 5, "server down: exit %d, not 5: %s" % (rc, err.strip()[-400:]))
    c.check(spool_lines(sspool) == len(a2),
            "server down: %d in the spool, %d alerts" % (spool_lines(sspool), len(a2)))
    c.check("%d left in %s" % (len(a2), sspool) in err and
            "%d alerts wait in %s" % (len(a2), sspool) in err,
            "server down: summary %s" % [l for l in err.splitlines() if "stream" in l])
    print("run 2, server down: exit %d, %d alerts spooled (%.1f s)" % (rc, len(a2), t_down))
    nats("start-node", "1")
    rc, err = analyze(args, base + ["-o", os.devnull], empty)
    c.check(rc == 0, "after the restart: exit %d: %s" % (rc, err.strip()[-400:]))
    c.check(spool_lines(sspool) == 0, "after the restart %d left" % spool_lines(sspool))
    got = consume(args, urls, "t")
    ids = [m["id"] for m in got]
    c.check(sorted(ids) == sorted(a2) and set(a2).isdisjoint(a1),
            "after the restart: %d new messages for %d spooled alerts" % (len(ids), len(a2)))
    c.check(stream_msgs(args, urls) == len(a1) + len(a2),
            "stream holds %s, not %d" % (stream_msgs(args, urls), len(a1) + len(a2)))
    print("run 3, server back: %d published from the spool" % len(ids))

    # 4. A name that is not one subject token.
    rc, err = analyze(args, ["--stream", urls, "--stream-sector", "electricity",
                             "--stream-sensor", "a.b", "-o", os.devnull], empty)
    c.check(rc == 1 and len(err.strip().splitlines()) == 1 and "a.b" in err,
            "bad sensor name: exit %d, %r" % (rc, err))
    rc, err = analyze(args, ["--stream", urls, "-o", os.devnull], empty)
    c.check(rc == 1 and len(err.strip().splitlines()) == 1 and "sector" in err,
            "no sector: exit %d, %r" % (rc, err))

    # 4b. Flow records (--stream-flows): every flow record of the EVE
    # output, as written, on yagura.flows.electricity.s1 in YAGURA_FLOWS,
    # none in the alerts' stream; with the server down, dropped and
    # counted while the alerts wait in the spool.
    flows(c, args, nats, urls, base, cap, work, sspool)

    # 5. Three nodes, three replicas, the stream's leader killed mid-run.
    nats("stop")
    urls = nats("start", "--cluster", "3")
    conf = os.path.join(work, "sensor.ini")
    with open(conf, "w") as f:
        f.write("[stream]\nurl = %s\nsector = electricity\nsensor = s1\nname = ALERTS_C\n"
                "replicas = 3\nmax_age = 1d\n" % ", ".join(urls.split(",")))
    shutil.rmtree(spool, ignore_errors=True)
    # The capture through a FIFO, twice: the second time an hour later (its
    # timestamps moved), so that its attacks are new. The leader is killed
    # once the first round's alerts are in the stream, before the second
    # round is written: the sensor publishes that round after the kill.
    with open(cap, "rb") as f:
        raw = f.read()
    head, recs, off = raw[:24], [], 24
    while off + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, off)
        recs.append((sec, raw[off + 4:off + 16 + incl]))
        off += 16 + incl
    later = b"".join(struct.pack("<I", sec + 3600) + rest for sec, rest in recs)
    fifo = os.path.join(work, "cluster.fifo")
    os.mkfifo(fifo)
    eve3 = os.path.join(work, "eve3.jsonl")
    t1 = time.monotonic()
    p = subprocess.Popen([args.yagura, "analyze", "--config", conf, "--spool", spool,
                          "--detect", "vol.pps=1000", "--post-wait", "60", "-o", eve3, fifo],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w = open(fifo, "wb")
    w.write(raw)
    w.flush()
    info = ["--name", "ALERTS_C", "--replicas", "3"]
    killed, n = None, 0
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        leader, n = stream_state(env, "ALERTS_C")
        if n and leader:  # the sensor is publishing the first round
            killed = leader
            nats("stop-node", str(killed))
            print("killed node %d, the stream's leader, at %d messages (%.1f s)"
                  % (killed, n, time.monotonic() - t1))
            break
        time.sleep(0.05)
    w.write(later)
    w.close()
    out, err = p.communicate(timeout=300)
    a3 = [a["alert_id"] for a in eve_alerts(eve3)]
    c.check(p.returncode == 0, "cluster run: exit %d: %s" % (p.returncode, err.strip()[-400:]))
    c.check(killed is not None, "no node was killed during the run (it ended first?)")
    c.check(n < len(a3), "the kill came before the last alert: %d of %d were in the stream"
            % (n, len(a3)))
    # Read back from the two nodes left. A new durable consumer on a
    # cluster short of a node may answer its first fetches with nothing
    # while it elects a leader: read until every alert came or 30 s passed
    # (the consumer's position keeps what was read), then count the stream.
    remaining = ",".join(u for i, u in enumerate(urls.split(","), 1) if i != killed)
    got, deadline = [], time.monotonic() + 30
    while len(got) < len(a3) and time.monotonic() < deadline:
        got += consume(args, remaining, "t", info, tries=30)
    ids = [m["id"] for m in got]
    msgs = stream_msgs(args, remaining, info)
    c.check(msgs == len(a3), "cluster: the stream holds %s, not %d" % (msgs, len(a3)))
    c.check(len(a3) > 10 and sorted(ids) == sorted(a3),
            "cluster: %d messages (%d distinct) for %d alerts, %d missing"
            % (len(ids), len(set(ids)), len(a3), len(set(a3) - set(ids))))
    c.check(all(m["subject"] == SUBJECT for m in got), "cluster: subjects")
    print("run 4, cluster: %d alerts, %d in the stream, %s (%.1f s)"
          % (len(a3), len(ids), [l.strip() for l in err.splitlines() if "stream:" in l],
             time.monotonic() - t1))
    print("total %.1f s" % (time.monotonic() - t0))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
