#!/usr/bin/env python3
"""bench/jetstream.py — the helpers of bench/jetstream (see bench/README.md).

  setup URL ADMIN K DIR [--authorize]   sensor users s1..sK, tokens in DIR/sN.token;
                                        --authorize: a monitoring authorization for
                                        each (0.0.0.0/0, ::/0), as --tower needs
  watch --want N --metrics URL,... [--nats MPORT,...] [--durable D]
        [--period S] [--timeout S] CSV  samples until the towers stored N alerts;
                                        prints the time it happened
  report RUNS                           the table, from the runs bash recorded

watch writes one line per sample: time, alerts stored (the sum of the towers'
yagura_alerts_stored_total), messages in the stream, and the durable
consumer's lag (num_pending + num_ack_pending, from the node that leads it,
through the NATS monitoring port's /jsz). Exit 1 on a timeout."""
import json
import os
import sys
import time
import urllib.error
import urllib.request


def call(base, method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def must(st, res, what):
    if st not in (200, 201):
        sys.exit("jetstream.py: %s: HTTP %s %s" % (what, st, res))
    return res


def user_token(base, admin, name, role):
    u = must(*call(base, "POST", "/api/v1/users", admin, {"name": name, "role": role}),
             "user " + name)
    return must(*call(base, "POST", "/api/v1/tokens", admin, {"user_id": u["id"]}),
                "token for " + name)["token"]


def setup(argv):
    base, admin, k, d = argv[0], argv[1], int(argv[2]), argv[3]
    auth = "--authorize" in argv[4:]
    tokens = {}
    for i in range(1, k + 1):
        tokens[i] = user_token(base, admin, "s%d" % i, "sensor")
        with open(os.path.join(d, "s%d.token" % i), "w") as f:
            f.write(tokens[i] + "\n")
    if not auth:
        return
    analyst = user_token(base, admin, "analyst", "analyst")
    overseers = [user_token(base, admin, "overseer%d" % i, "overseer") for i in (1, 2)]
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    for i in range(1, k + 1):
        a = must(*call(base, "POST", "/api/v1/monitoring/authorizations", analyst,
                       {"sensor": "s%d" % i, "prefixes": ["0.0.0.0/0", "::/0"], "vlans": [],
                        "purpose": "bench/jetstream", "until": until}), "authorization")
        aid = a["authorization"]["id"]
        for ov in overseers:
            a = must(*call(base, "POST", "/api/v1/monitoring/authorizations/%d/approve" % aid,
                           ov, {"reason": "benchmark"}), "approval")
            if a["authorization"]["state"] != "proposed":
                break
        end = time.time() + 30
        while True:
            st, res = call(base, "GET", "/api/v1/monitoring/authorizations/active", tokens[i])
            if st == 200 and aid in [x.get("id") for x in res.get("authorizations", [])]:
                break
            if time.time() > end:
                sys.exit("jetstream.py: authorization %d not active for s%d" % (aid, i))
            time.sleep(0.1)


def get(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except (OSError, urllib.error.URLError):
        return None


def stored(metrics):
    n = 0
    for u in metrics:
        body = get(u)
        for line in (body or b"").decode().splitlines():
            if line.startswith("yagura_alerts_stored_total "):
                n += int(float(line.split()[1]))
    return n


def stream_state(mports, durable):
    """(messages in the stream: the most any replica holds; the consumer's
    lag, from the node that leads it: nats-test.sh names node i yagura-ni);
    -1 where unknown."""
    msgs = lag = -1
    for i, p in enumerate(mports, 1):
        body = get("http://127.0.0.1:%s/jsz?accounts=true&streams=true&consumers=true" % p)
        if body is None:
            continue
        me = "yagura-n%d" % i
        for acc in json.loads(body).get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                msgs = max(msgs, s.get("state", {}).get("messages", -1))
                for c in s.get("consumer_detail") or []:
                    if c.get("name") != durable:
                        continue
                    if c.get("cluster", {}).get("leader", me) == me:
                        lag = c.get("num_pending", 0) + c.get("num_ack_pending", 0)
    return msgs, lag


def watch(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="jetstream.py watch")
    ap.add_argument("--want", type=int, required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--nats", default="")
    ap.add_argument("--durable", default="")
    ap.add_argument("--period", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("csv")
    a = ap.parse_args(argv)
    metrics = ["%s/metrics" % u for u in a.metrics.split(",")]
    mports = [p for p in a.nats.split(",") if p]
    end = time.time() + a.timeout
    with open(a.csv, "w") as f:
        f.write("t,stored,stream,lag\n")
        while True:
            t = time.time()
            n = stored(metrics)
            msgs, lag = stream_state(mports, a.durable) if mports else (-1, -1)
            f.write("%.3f,%d,%d,%d\n" % (t, n, msgs, lag))
            f.flush()
            if n >= a.want:
                print("%.3f" % t)
                return
            if t > end:
                sys.exit("jetstream.py: %d of %d alerts stored after %.0f s" % (n, a.want, a.timeout))
            time.sleep(max(0.0, a.period - (time.time() - t)))


def samples(path):
    with open(path) as f:
        next(f)
        return [tuple(float(x) for x in ln.split(",")) for ln in f if ln.strip()]


def lag_stats(rows, t0, t1):
    """Max and mean consumer lag in messages, and in seconds: at each sample,
    how long the oldest message not yet stored has been in the stream (the
    first sample at which the stream held more than what is stored now)."""
    rows = [r for r in rows if t0 <= r[0] <= t1]
    msgs = [r[3] for r in rows if r[3] >= 0]
    secs = []
    for t, n, _, _ in rows:
        first = next((r[0] for r in rows if r[2] > n), None)
        secs.append(t - first if first is not None else 0.0)
    mx = lambda v: max(v) if v else float("nan")
    mean = lambda v: sum(v) / len(v) if v else float("nan")
    return mx(msgs), mean(msgs), mx(secs), mean(secs)


def report(argv):
    runs = [json.loads(ln) for ln in open(argv[0]) if ln.strip()]
    by = {(r["kind"], r["towers"]): r for r in runs}
    http = by.get(("http", 1))
    base = http["alerts"] / (http["t_end"] - http["t0"]) if http else None
    ratio = lambda v: "%.2f" % (v / base) if base else "-"
    print("end to end: sensors started -> every alert stored (towers running)\n")
    print("%-10s %6s %7s %7s %9s %7s %8s %8s %7s %7s %7s" % (
        "path", "towers", "alerts", "secs", "alerts/s", "x http", "lag max", "lag mean",
        "lag s", "mean s", "tail s"))
    for r in runs:
        if r["kind"] not in ("http", "live"):
            continue
        secs = r["t_end"] - r["t0"]
        rate = r["alerts"] / secs
        if r["kind"] == "live":
            lm, la, ls, lsa = lag_stats(samples(r["csv"]), r["t0"], r["t_end"])
            lag = "%8.0f %8.0f %7.1f %7.1f %7.2f" % (lm, la, ls, lsa, max(0.0, r["t_end"] - r["t_pub"]))
            name = "jetstream"
        else:
            lag = "%8s %8s %7s %7s %7s" % ("-", "-", "-", "-", "-")
            name = "http"
        print("%-10s %6d %7d %7.1f %9.0f %7s %s" % (name, r["towers"], r["alerts"], secs,
                                                     rate, ratio(rate), lag))
    pub = [r for r in runs if r["kind"] == "publish"]
    drains = [r for r in runs if r["kind"] == "drain"]
    if pub or drains:
        print("\nprefilled: sensors publish with no tower running, then the towers drain\n")
        print("%-10s %6s %7s %7s %9s %7s %7s" % ("phase", "towers", "alerts", "secs",
                                                   "alerts/s", "x http", "start s"))
    for r in pub + drains:
        start = r["t0"]
        if r["kind"] == "drain":
            idle = [s[0] for s in samples(r["csv"]) if s[1] == 0]
            start = max([start] + idle)
        secs = r["t_end"] - start
        rate = r["alerts"] / secs
        print("%-10s %6s %7d %7.1f %9.0f %7s %7s" % (
            r["kind"], r["towers"] or "-", r["alerts"], secs, rate, ratio(rate),
            "%.1f" % (start - r["t0"]) if r["kind"] == "drain" else "-"))
    alone = by.get(("alone", 0))
    if alone:
        secs = alone["t_end"] - alone["t0"]
        print("\nsensors alone (no tower, no stream): %d alerts in %.2f s, %.0f alerts/s" % (
            alone["alerts"], secs, alone["alerts"] / secs))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    {"setup": setup, "watch": watch, "report": report}.get(cmd, lambda _: sys.exit(__doc__))(argv)


if __name__ == "__main__":
    main()
