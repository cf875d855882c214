#!/usr/bin/env python3
"""Checks the source tree against the house rules the compiler cannot see.

- Module boundaries: a file under src/MODULE/ includes headers of MODULE
  and of the modules MODULE's library links (directly or through others,
  as its CMakeLists.txt declares), nothing else. A wrong-way include fails
  here even when the build happens to find the header.
- Unbounded functions (sprintf, vsprintf, strcpy, strcat, gets, atoi) do not
  appear in src/.

Usage: scripts/check-source.py [ROOT]. Prints each violation as
FILE:LINE: what, and exits 1 if there is any, 0 otherwise."""
import os
import re
import sys

BANNED = re.compile(r"\b(sprintf|vsprintf|strcpy|strcat|gets|atoi)\s*\(")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"')
LINK = re.compile(r"target_link_libraries\(\s*(\S+)\s+([^)]*)\)", re.S)
LIB = re.compile(r"add_(?:library|executable)\(\s*(\S+)")


def strip_comments(text):
    # Keeps line numbers: comments become blanks of the same lines.
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    text = re.sub(r"//[^\n]*", blank, text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', text)


def read_links(root):
    """Target -> the targets it links; module dir -> its target."""
    links, target_of = {}, {}
    files = [os.path.join(root, "CMakeLists.txt")]
    src = os.path.join(root, "src")
    for d in sorted(os.listdir(src)):
        f = os.path.join(src, d, "CMakeLists.txt")
        if os.path.isfile(f):
            files.append(f)
    for f in files:
        text = open(f).read()
        text = re.sub(r"#[^\n]*", "", text)
        d = os.path.basename(os.path.dirname(f))
        for m in LIB.finditer(text):
            if f != files[0]:
                target_of.setdefault(d, m.group(1))
        for m in LINK.finditer(text):
            deps = [w for w in m.group(2).split() if w not in ("PUBLIC", "PRIVATE", "INTERFACE")]
            links.setdefault(m.group(1), set()).update(deps)
    return links, target_of


def closure(links, target):
    seen, todo = set(), [target]
    while todo:
        t = todo.pop()
        for d in links.get(t, ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    links, target_of = read_links(root)
    module_of = {t: d for d, t in target_of.items()}
    bad = 0
    src = os.path.join(root, "src")
    for d in sorted(os.listdir(src)):
        mdir = os.path.join(src, d)
        if not os.path.isdir(mdir):
            continue
        target = target_of.get(d)
        allowed = {d} | {module_of[t] for t in closure(links, target) if t in module_of} \
            if target else {d}
        for name in sorted(os.listdir(mdir)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(mdir, name)
            raw = open(path, errors="replace").read()
            rel = os.path.relpath(path, root)
            for n, line in enumerate(raw.splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) not in allowed:
                    print("%s:%d: includes %s/ but %s does not link it (links: %s)" % (
                        rel, n, m.group(1), target or d, ", ".join(sorted(allowed - {d})) or "none"))
                    bad += 1
            for n, line in enumerate(strip_comments(raw).splitlines(), 1):
                m = BANNED.search(line)
                if m:
                    print("%s:%d: %s() is unbounded: use snprintf, memcpy or base/jbuf.h" % (
                        rel, n, m.group(1)))
                    bad += 1
    if bad:
        print("check-source: %d violation%s" % (bad, "" if bad == 1 else "s"))
        return 1
    print("check-source: %d modules, no violation" % len(target_of))
    return 0


sys.exit(main())
