#!/usr/bin/env python3
"""Fills a new tower with a demonstration of the platform (issue 15): the
organisations and people an office works with, a sensor's analysis of a
capture posted to it, incident reports at every stage (one overdue), a
shared report's indicators, and a countermeasure case awaiting the
overseers. Called by scripts/run.sh on a tower it started, once: the
store is reused afterwards.

Everything goes through the tower's API, as the people would do it, each
logged in with the password this script gives them and prints once.

  demo.py --yagura build/yagura --url https://127.0.0.1:8443 --dir var/demo \\
          --admin-token FILE --capture var/sample.pcap --tls var/demo/tls

With --tls (scripts/demo-tls.sh's directory), the tower is trusted through
its ca.pem, and the sensor authenticates with its client certificate
(sensor-tokyo-ix.pem), bound to it by the admin: no token.
"""
import argparse
import http.client
import json
import os
import secrets
import ssl
import string
import subprocess
import sys
import time
import urllib.parse

ORGS = [("Kanto Power", "electricity"), ("Kinki Water", "water")]
# name, role, organisation (index into ORGS), sectors (regulators)
PEOPLE = [
    ("tanaka", "operator", 0, None),
    ("suzuki", "operator", 1, None),
    ("sato", "regulator", None, ["electricity"]),
    ("ito", "analyst", None, None),
    ("watanabe", "overseer", None, None),
    ("yamamoto", "overseer", None, None),
    ("nakamura", "auditor", None, None),
]


def die(msg):
    sys.exit("demo: " + msg)


TLS = {"ctx": None, "dir": None, "ca": None}  # the demonstration CA, once known


class Client:
    """Calls the tower as one user: an API token, or a session cookie with
    its CSRF token once logged in."""

    def __init__(self, url, token=None, cert=None):
        u = urllib.parse.urlsplit(url)
        self.https = u.scheme == "https"
        self.host, self.port = u.hostname, u.port or (443 if self.https else 80)
        self.token, self.cookie, self.csrf = token, None, None
        self.ctx = TLS["ctx"]
        if cert is not None:
            self.ctx = ssl.create_default_context(cafile=TLS["ca"])
            self.ctx.load_cert_chain(cert[0], cert[1])

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        if self.https:
            c = http.client.HTTPSConnection(self.host, self.port, timeout=60, context=self.ctx)
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.cookie:
            h["Cookie"] = "yagura_session=" + self.cookie
            if method not in ("GET", "HEAD"):
                h["X-CSRF-Token"] = self.csrf
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        hdrs = r.getheaders()
        c.close()
        try:
            ans = json.loads(raw) if raw else None
        except ValueError:
            ans = raw.decode(errors="replace")
        if r.status not in ok:
            die("%s %s: HTTP %d %s" % (method, path, r.status, ans))
        return ans, hdrs

    def login(self, name, password):
        ans, hdrs = self.call("POST", "/api/v1/session", {"name": name, "password": password})
        for k, v in hdrs:
            if k.lower() == "set-cookie" and v.startswith("yagura_session="):
                self.cookie = v.split(";")[0].split("=", 1)[1]
        self.csrf = ans["csrf"]
        return self


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def password():
    abc = string.ascii_letters + string.digits
    return "-".join("".join(secrets.choice(abc) for _ in range(5)) for _ in range(4))


def people(url, admin, piddir):
    """Organisations, users and their passwords; the sensor's token."""
    orgs = [admin.call("POST", "/api/v1/orgs", {"name": n, "sector": s})[0]["id"]
            for n, s in ORGS]
    pw, ids = {}, {}
    for name, role, org, sectors in PEOPLE:
        body = {"name": name, "role": role}
        if org is not None:
            body["org_id"] = orgs[org]
        if sectors:
            body["sectors"] = sectors
        ids[name] = admin.call("POST", "/api/v1/users", body)[0]["id"]
        pw[name] = password()
        admin.call("PUT", "/api/v1/users/%d/password" % ids[name], {"password": pw[name]})
    sid = admin.call("POST", "/api/v1/users", {"name": "sensor-tokyo-ix", "role": "sensor"})[0]
    if TLS["dir"]:
        # The sensor is its certificate: bound to it, it needs no token.
        with open(os.path.join(TLS["dir"], "sensor-tokyo-ix.fingerprint")) as f:
            admin.call("PUT", "/api/v1/users/%d/certificate" % sid["id"],
                       {"fingerprint": f.read().strip()})
        return pw, None
    tok = admin.call("POST", "/api/v1/tokens", {"user_id": sid["id"]})[0]["token"]
    path = os.path.join(piddir, "sensor.token")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(tok + "\n")
    return pw, path


def sensor_client(url, token_file):
    if token_file is None:
        return Client(url, cert=(os.path.join(TLS["dir"], "sensor-tokyo-ix.pem"),
                                 os.path.join(TLS["dir"], "sensor-tokyo-ix.key")))
    with open(token_file) as f:
        return Client(url, f.read().strip())


def sensor_args(token_file):
    """How yagura analyze authenticates as the sensor."""
    if token_file is None:
        d = TLS["dir"]
        return ["--ca", os.path.join(d, "ca.pem"), "--cert", os.path.join(d, "sensor-tokyo-ix.pem"),
                "--key", os.path.join(d, "sensor-tokyo-ix.key")]
    args = ["--token-file", token_file]
    if TLS["dir"]:
        args += ["--ca", os.path.join(TLS["dir"], "ca.pem")]
    return args


def monitoring(url, pw, sensor):
    """The sensor may analyse its link: proposed by the analyst, approved
    by both overseers (a whole link is wide), active before it starts."""
    ito = Client(url).login("ito", pw["ito"])
    a, _ = ito.call("POST", "/api/v1/monitoring/authorizations",
                    {"sensor": "sensor-tokyo-ix", "prefixes": ["0.0.0.0/0", "::/0"],
                     "purpose": "Demonstration: the Tokyo exchange point's link",
                     "until": rfc3339(time.time() + 30 * 86400)})
    aid = a["authorization"]["id"]
    for ov in ("watanabe", "yamamoto"):
        c = Client(url).login(ov, pw[ov])
        r, _ = c.call("POST", "/api/v1/monitoring/authorizations/%d/approve" % aid,
                      {"reason": "Proportionate: the exchange point asked for it"})
        if r["authorization"]["state"] != "proposed":
            break
    for _ in range(300):
        r, _ = sensor.call("GET", "/api/v1/monitoring/authorizations/active")
        if any(x["id"] == aid for x in r["authorizations"]):
            return
        time.sleep(0.2)
    die("the sensor's monitoring authorization did not become active")


def analyse(yagura, url, capture, token_file, outdir):
    eve = os.path.join(outdir, "sample.eve.json")
    print("demo: yagura analyze %s --tower %s" % (capture, url), file=sys.stderr)
    p = subprocess.run([yagura, "analyze", "-q", capture, "-o", eve, "--tower", url] +
                       sensor_args(token_file), capture_output=True, text=True)
    if p.returncode != 0:
        die("analyze: exit %d\n%s" % (p.returncode, p.stderr))


def reports(url, pw, attackers):
    """Reports at each stage: one overdue, one in detail, one closed, one new."""
    now = time.time()
    tanaka = Client(url).login("tanaka", pw["tanaka"])
    suzuki = Client(url).login("suzuki", pw["suzuki"])

    def body(category, summary, ago, **kw):
        b = {"category": category, "summary": summary, "severity": "high",
             "detected_at": rfc3339(now - ago), "tlp": "TLP:AMBER"}
        b.update(kw)
        return b

    # Overdue: four days on, still only the prompt report (detailed is due at 72h).
    tanaka.call("POST", "/api/v1/reports",
                body("ddos", "SYN flood on the customer billing portal", 4 * 86400))
    # In detail, with the attack servers seen.
    details = {"indicators": {"addresses": attackers[:3]},
               "attack_vector": "exposed remote-access VPN"}
    r, _ = tanaka.call("POST", "/api/v1/reports",
                       body("ransomware", "Ransomware on the engineering file server",
                            30 * 3600))
    tanaka.call("POST", "/api/v1/reports/%d/versions" % r["id"],
                {"stage": "detailed",
                 "report": body("ransomware", "Ransomware on the engineering file server",
                                30 * 3600, technical_details=details,
                                affected_computers=[{"description": "engineering NAS"}])})
    shared = r["id"]
    # Closed: prompt, detailed, final.
    d2 = {"indicators": {"domains": ["update-check.example.net"]},
          "attack_vector": "phishing mail to the operations desk"}
    r, _ = suzuki.call("POST", "/api/v1/reports",
                       body("malware", "Remote-access trojan on an operations PC", 40 * 86400))
    b = body("malware", "Remote-access trojan on an operations PC", 40 * 86400,
             technical_details=d2, affected_computers=[{"description": "operations PC"}])
    suzuki.call("POST", "/api/v1/reports/%d/versions" % r["id"], {"stage": "detailed",
                                                                   "report": b})
    b = dict(b, response_taken="PC reimaged; mail filter rule added",
             impact={"users_affected": 0, "outage_minutes": 0})
    suzuki.call("POST", "/api/v1/reports/%d/versions" % r["id"], {"stage": "final", "report": b})
    suzuki.call("POST", "/api/v1/reports/%d/versions" % r["id"], {"stage": "closed"})
    # New: two hours old.
    suzuki.call("POST", "/api/v1/reports",
                body("unauthorised_access", "Logins to the SCADA historian from abroad",
                     2 * 3600, severity="critical"))
    # The analyst warns the others with the ransomware report's servers.
    ito = Client(url).login("ito", pw["ito"])
    ito.call("POST", "/api/v1/reports/%d/share" % shared, {"tlp": "TLP:AMBER"})


def case(url, pw):
    """A case against the top attack source, awaiting the overseers."""
    ito = Client(url).login("ito", pw["ito"])
    src, _ = ito.call("GET", "/api/v1/sources?limit=1")
    top = src["sources"][0]["ip"] if src.get("sources") else None
    if top is None:
        die("the analysis gave the tower no attack source")
    ito.call("POST", "/api/v1/sources/%s/case" % top,
             {"action": "rtbh", "duration": "7d",
              "justification": "Top attack source on the Tokyo exchange point's link"})
    return top


def attackers_of(planted):
    """The IPv4 attackers genpcap planted (its -t file)."""
    try:
        with open(planted) as f:
            p = json.load(f)
        return [a["ip"] for a in p.get("attackers", []) if "." in a.get("ip", "")]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ["203.0.113.66"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yagura", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--admin-token", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--planted")
    ap.add_argument("--tls", help="scripts/demo-tls.sh's directory: HTTPS, a client certificate")
    a = ap.parse_args()
    TLS["dir"] = a.tls
    if a.tls:
        TLS["ca"] = os.path.join(a.tls, "ca.pem")
        TLS["ctx"] = ssl.create_default_context(cafile=TLS["ca"])
    with open(a.admin_token) as f:
        admin = Client(a.url, f.read().strip())
    pw, tokfile = people(a.url, admin, a.dir)
    monitoring(a.url, pw, sensor_client(a.url, tokfile))
    analyse(a.yagura, a.url, a.capture, tokfile, a.dir)
    reports(a.url, pw, (attackers_of(a.planted) if a.planted else []) or ["203.0.113.66"])
    top = case(a.url, pw)
    print("\nThe demonstration's people and their passwords (shown this once; an admin\n"
          "resets one with: yagura admin user password USER_ID):\n")
    for name, role, org, sectors in PEOPLE:
        where = ORGS[org][0] if org is not None else ", ".join(sectors or []) or "the office"
        print("  %-10s %-10s %-22s %s" % (name, role, where, pw[name]))
    print("\n  a case against %s awaits an overseer's decision (watanabe or yamamoto)."
          % top)


if __name__ == "__main__":
    main()
