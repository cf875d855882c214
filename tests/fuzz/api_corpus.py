#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_api (tests/fuzz/corpus/api): a valid
request for each route of the tower that takes a body or a query, in the
fuzzer's input form "ROLE METHOD TARGET[ KEY]\\nBODY" (KEY: an
Idempotency-Key; the writes that take one have a seed with and without). {warnings} stands for the
TAXII collection of that alias; ids are those the fuzzer's tower gives its
first rows. Run from anywhere; rewrites its own seeds (files named by
number) and leaves any other file there (inputs kept from long runs)."""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "api")
T = "2026-11-22T00:00:00Z"
IND = {"type": "indicator", "spec_version": "2.1",
       "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
       "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
       "name": "C2", "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
       "valid_from": "2026-11-01T00:00:00Z",
       "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}
REPORT = {"category": "ddos", "summary": "SYN flood on the portal", "severity": "high",
          "detected_at": T, "technical_details": {"indicators": {"addresses": ["203.0.113.5"],
                                                                 "domains": ["c2.example"]}}}
SEEDS = [
    ("admin", "POST", "/api/v1/orgs", {"name": "Water", "sector": "water"}),
    ("admin", "POST", "/api/v1/users", {"name": "op2", "role": "operator", "org_id": 1}),
    ("admin", "POST", "/api/v1/tokens", {"user_id": 2}),
    ("admin", "PUT", "/api/v1/users/3/certificate", {"fingerprint": "sha256:" + ":".join(["ab"] * 32)}),
    ("admin", "PUT", "/api/v1/users/2/password", {"password": "correct horse battery"}),
    ("operator", "POST", "/api/v1/reports", REPORT),
    ("operator", "POST", "/api/v1/reports/1/versions", {"stage": "detailed", "report": dict(
        REPORT, affected_computers=[{"description": "portal"}],
        technical_details={"indicators": {"addresses": ["203.0.113.5"]},
                           "attack_vector": "exposed VPN"})}),
    ("operator", "POST", "/api/v1/assets", {"product": "SCADA HMI", "version": "4.2",
                                            "role": "control", "location": "Chiba",
                                            "addresses": ["192.0.2.0/28"]}),
    ("sensor", "POST", "/api/v1/alerts", {"alerts": [
        {"alert_id": "a1", "timestamp": "2026-11-22T00:00:00.000000+0000",
         "src_ip": "45.9.148.9", "src_port": 4444, "dest_ip": "10.0.0.1", "dest_port": 22,
         "proto": "TCP", "alert": {"signature_id": 9100001, "signature": "ssh brute force",
                                   "category": "brute", "severity": 2}}]}),
    ("auditor", "POST", "/api/v1/log/checkpoint", None),
    ("auditor", "POST", "/api/v1/log/cosignature", None),
    ("analyst", "POST", "/api/v1/cases", {"action": "sinkhole", "target": "c2.example.net",
                                          "justification": "C2 domain", "duration": "2h",
                                          "evidence": ["report:1", "alert:1"]}),
    ("analyst", "POST", "/api/v1/cases", {"action": "rtbh", "target": "45.9.148.0/24",
                                          "justification": "C2 range", "duration": "3h"}),
    ("analyst", "POST", "/api/v1/cases", {"action": "flowspec", "target": "45.9.148.7/32",
                                          "proto": "tcp", "ports": [22, 443],
                                          "justification": "brute force", "duration": "1d"}),
    ("overseer", "POST", "/api/v1/cases/1/approve", {"reason": "ok"}),
    ("overseer", "POST", "/api/v1/cases/1/reject", {"reason": "no"}),
    ("analyst", "POST", "/api/v1/cases/1/withdraw", {"reason": "moot"}),
    ("overseer", "POST", "/api/v1/cases/1/revoke", {"reason": "over"}),
    ("analyst", "POST", "/api/v1/sources/45.9.148.9/case", {"action": "blocklist",
                                                              "justification": "top source",
                                                              "duration": "6h"}),
    ("analyst", "POST", "/api/v1/monitoring/authorizations", {
        "sensor": "sensor1", "prefixes": ["192.0.2.0/24"], "vlans": [10],
        "purpose": "the portal's uplink", "until": "2027-01-01T00:00:00Z"}),
    ("overseer", "POST", "/api/v1/monitoring/authorizations/1/approve", {"reason": "ok"}),
    ("overseer", "POST", "/api/v1/monitoring/authorizations/1/revoke", {"reason": "over"}),
    ("analyst", "POST", "/taxii2/api/collections/{warnings}/objects/", {"objects": [IND]}),
    ("operator", "GET", "/taxii2/api/collections/{warnings}/objects/?added_after=2026-11-01T00:00:00Z"
     "&limit=2&match[type]=indicator&match[version]=all&match[spec_version]=2.1", None),
    ("operator", "GET", "/taxii2/api/collections/{warnings}/objects/?match[id]=" + IND["id"]
     + "&next=AAAA", None),
    ("operator", "GET", "/taxii2/api/collections/{warnings}/manifest/?match[version]=first", None),
    ("operator", "GET", "/taxii2/api/collections/{warnings}/objects/" + IND["id"]
     + "/versions/?added_after=2026-01-01T00:00:00.000Z", None),
    ("analyst", "DELETE", "/taxii2/api/collections/{warnings}/objects/" + IND["id"]
     + "/?match[version]=2026-11-01T00:00:00.000Z", None),
    ("analyst", "POST", "/api/v1/reports/1/share", {"tlp": "TLP:AMBER"}),
    ("none", "POST", "/api/v1/session", {"name": "op", "password": "correct horse battery"}),
    ("operator", "PUT", "/api/v1/session/preferences", {"language": "en", "time_zone": "Asia/Tokyo"}),
    ("operator", "POST", "/api/v1/session/password", {"current": "correct horse battery",
                                                       "new": "correct horse battery 2"}),
    ("analyst", "POST", "/api/v1/taxii/collections", {"alias": "feed", "title": "Feed",
                                                      "description": "for partners"}),
    ("analyst", "PATCH", "/api/v1/taxii/collections/{warnings}", {"title": "Warnings"}),
    ("analyst", "PUT", "/api/v1/taxii/collections/{warnings}/access", {"rules": [
        {"role": "analyst", "read": True, "write": True},
        {"role": "operator", "org": 1, "read": True}]}),
    ("operator", "GET", "/api/v1/reports?stage=prompt&overdue=true&limit=5&before=10", None),
    ("analyst", "GET", "/api/v1/alerts?src_ip=203.0.113.5&since=2026-11-01T00:00:00Z&limit=3",
     None),
    ("analyst", "GET", "/api/v1/sources?limit=10", None),
    ("overseer", "GET", "/api/v1/cases?state=proposed&limit=5&before=100", None),
    ("auditor", "GET", "/api/v1/oversight/summary?year=2026", None),
    ("analyst", "GET", "/api/v1/monitoring/authorizations?state=active&sensor=sensor1&limit=2", None),
    ("admin", "GET", "/api/v1/orgs?limit=1&after=1", None),
    ("operator", "GET", "/api/v1/assets?limit=1&after=1", None),
    ("analyst", "GET", "/api/v1/taxii/collections?limit=2&after=1", None),
    ("auditor", "GET", "/api/v1/log/inclusion?index=0&size=2", None),
    ("auditor", "GET", "/api/v1/log/consistency?from=1&to=2", None),
    ("sensor", "GET", "/api/v1/monitoring/authorizations/active", None),
    ("analyst", "GET", "/api/v1/monitoring/authorizations/active?sensor=sensor1", None),
    # Idempotency-Key: the same write twice is a replay, another body a 422.
    ("operator", "POST", "/api/v1/reports", REPORT, "report-1"),
    ("operator", "POST", "/api/v1/assets", {"product": "RTU", "addresses": []}, '"asset-1"'),
    ("analyst", "POST", "/api/v1/cases", {"action": "sinkhole", "target": "c2.example.net",
                                          "justification": "C2", "duration": "2h"}, "case-1"),
    ("overseer", "POST", "/api/v1/cases/1/approve", {"reason": "holds"}, "approve-1"),
    # HEAD: an answer with a Content-Length and no body. The CI run of
    # 2026-12-07 found the test client taking that for an answer cut short.
    ("operator", "HEAD", "/api/v1/reports", None),
    ("operator", "HEAD", "/api/v1z/assets", {"product": "SCADA HMI"}),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):  # its own seeds; inputs kept from long runs stay
        if f.isdigit():
            os.unlink(os.path.join(OUT, f))
    for i, (role, method, target, body, *key) in enumerate(SEEDS):
        data = ("%s %s %s%s\n" % (role, method, target, " " + key[0] if key else "")).encode()
        if body is not None:
            data += json.dumps(body, separators=(",", ":")).encode()
        with open(os.path.join(OUT, "%02d" % i), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
