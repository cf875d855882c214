"""Golden tests: tests/pcap/<case>/input.pcap through `yagura analyze`
must give tests/pcap/<case>/expect.jsonl exactly, record for record, and
the summary's counters in expect.summary.

With --update the expectations are rewritten; review their diff by hand."""
import difflib
import json
import os
import re
import sys

import common


def main():
    update = "--update" in sys.argv
    if update:
        sys.argv.remove("--update")
    a = common.parse_args()
    t = common.Checker("golden")
    root = os.path.join(a.source, "tests", "pcap")
    cases = sorted(c for c in os.listdir(root) if os.path.isdir(os.path.join(root, c)))
    t.check(len(cases) > 0, "no golden cases under %s" % root)
    for case in cases:
        d = os.path.join(root, case)
        args_file = os.path.join(d, "args")
        extra = open(args_file).read().split() if os.path.exists(args_file) else []
        _, out, err = common.run(a.yagura, ["analyze", "--no-progress"] + extra +
                                 [os.path.join(d, "input.pcap")])
        # The summary minus the timing line, which varies run to run, and
        # the detectors' memory reservation, which follows their tables.
        summary = "".join(re.sub(r"detector state [0-9.]+ MiB", "detector state N MiB", l) + "\n"
                          for l in err.splitlines() if not re.match(r"\s*time:", l))
        got = [json.dumps(json.loads(l), sort_keys=True) for l in out.decode().splitlines()]
        exp_path = os.path.join(d, "expect.jsonl")
        sum_path = os.path.join(d, "expect.summary")
        if update:
            with open(exp_path, "w") as f:
                f.write(out.decode())
            with open(sum_path, "w") as f:
                f.write(summary)
            print("updated %s" % case)
            continue
        with open(exp_path) as f:
            want = [json.dumps(json.loads(l), sort_keys=True) for l in f.read().splitlines()]
        with open(sum_path) as f:
            want_summary = f.read()
        diff = list(difflib.unified_diff(want, got, "expected", "got", lineterm="", n=0))
        t.check(not diff, "%s: records differ:\n%s" % (case, "\n".join(diff[:40])))
        t.check(summary == want_summary, "%s: summary differs:\n%s" % (
            case, "\n".join(difflib.unified_diff(want_summary.splitlines(),
                                                 summary.splitlines(), lineterm=""))))
    t.finish()


main()
