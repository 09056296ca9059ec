#!/usr/bin/env python3
"""The collector's module rule and one-way rule, read from the sources.

A module is a directory under collector/ (collector/flow, collector/sink, ...); the files of
collector/app/ are each a module of their own (app/app_http.c with app/app_http.h), and
collector/main.c belongs to app/ (app.c, col_app.h); app_int.h, the wiring's shared state, is a
module of its own that includes no other app/ header. The check fails when
  - a file outside collector/app/ includes a header of collector/app/ (app/ is the top: it wires
    the modules, nothing calls up into it);
  - the include graph between modules has a cycle;
  - the call graph between modules has a cycle: module A calls a function defined (not static)
    in module B and B calls, directly or through others, a function of A;
  - a file of an app/ module that takes its own context (the OWN_CONTEXT tuple below) includes
    app_int.h: those see only the borrowed pointers their context struct holds;
  - any file but the wiring's (WIRING: app.c, main.c and app_reload.c, which reaches every part
    on SIGHUP) includes app_int.h, so a new app/ file starts with its own context too.
Calls are found by name: every function defined at the start of a line in a .c file, without
`static`, is that file's module's; a use of the name in another module's .c file is a call.
Usage: check_modules.py [repo root]. Prints each violation; exit status 1 when there is one.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
COL = os.path.join(ROOT, "collector")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
DEFN = re.compile(r'^(?!static\b)(?:[A-Za-z_][\w \t\*]*?[\s\*])([a-z_][a-z0-9_]*)\s*\([^;{]*\)\s*\{',
                  re.M)
COMMENTS = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRINGS = re.compile(r'"(?:\\.|[^"\\])*"')
OWN_CONTEXT = ("app/app_http", "app/app_metrics", "app/app_derive", "app/app_tt10",
               "app/app_layers", "app/app_console")
WIRING = ("app", "app/app_reload", "app/state")


def module_of(path):
    """The module a collector file belongs to, or None for a file outside collector/."""
    rel = os.path.relpath(path, COL)
    if rel.startswith(".."):
        return None
    parts = rel.split(os.sep)
    if len(parts) == 1:
        return "app"  # collector/main.c, collector/CMakeLists.txt
    if parts[0] == "app":
        stem = os.path.splitext(parts[1])[0]
        if stem in ("app", "col_app"):
            return "app"
        return "app/state" if stem == "app_int" else "app/" + stem
    return parts[0]


def sources():
    for top in ("collector", "common", "tests", "tools", "firmware", "sim", "bench"):
        base = os.path.join(ROOT, top)
        for dirpath, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith("build")]
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(dirpath, f)


def cycles(edges):
    """Every strongly connected component with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    files = list(sources())
    headers = {}  # basename -> module (collector headers only)
    for p in files:
        m = module_of(p)
        if m is not None and p.endswith(".h"):
            headers[os.path.basename(p)] = m
    bad = []
    inc = {}
    texts = {}
    for p in files:
        with open(p, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        m = module_of(p)
        if m is not None:
            texts[p] = text
        for h in INCLUDE.findall(text):
            hm = headers.get(os.path.basename(h))
            if hm is None:
                continue
            if (hm == "app" or hm.startswith("app/")) and not (m == "app" or (m or "").startswith("app/")):
                bad.append("%s includes %s, a header of collector/app/ (nothing outside app/ may)"
                           % (os.path.relpath(p, ROOT), h))
            if m in OWN_CONTEXT and hm == "app/state":
                bad.append("%s includes %s: %s takes its own context struct, not struct col_app"
                           % (os.path.relpath(p, ROOT), h, m))
            elif m not in WIRING and hm == "app/state":
                bad.append("%s includes %s: only the wiring (%s) shares struct col_app; give %s "
                           "its own context struct" % (os.path.relpath(p, ROOT), h,
                                                       ", ".join(WIRING[:2]), m))
            if m is not None and hm != m:
                inc.setdefault(m, {}).setdefault(hm, []).append(os.path.relpath(p, ROOT))
    for comp in cycles({k: set(v) for k, v in inc.items()}):
        bad.append("include cycle between modules: " + " <-> ".join(comp))
        for a in comp:
            for b in comp:
                if b in inc.get(a, {}):
                    bad.append("    %s -> %s (%s)" % (a, b, inc[a][b][0]))

    defs = {}  # function name -> module
    for p, text in texts.items():
        if p.endswith(".c"):
            for name in DEFN.findall(COMMENTS.sub("", text)):
                if name != "main":  # each program's own entry point
                    defs.setdefault(name, module_of(p))
    word = re.compile(r'\b[a-z_][a-z0-9_]*\b')
    calls = {}
    for p, text in texts.items():
        if not p.endswith(".c"):
            continue
        m = module_of(p)
        body = STRINGS.sub('""', COMMENTS.sub("", text))
        for name in set(word.findall(body)):
            dm = defs.get(name)
            if dm is not None and dm != m:
                calls.setdefault(m, {}).setdefault(dm, set()).add(name)
    for comp in cycles({k: set(v) for k, v in calls.items()}):
        bad.append("call cycle between modules: " + " <-> ".join(comp))
        for a in comp:
            for b in comp:
                if b in calls.get(a, {}):
                    bad.append("    %s calls %s: %s" % (a, b, ", ".join(sorted(calls[a][b])[:6])))
    for line in bad:
        print(line)
    if bad:
        print("check_modules: FAILED (docs/architecture.md, 'Modules and the direction of calls')")
        return 1
    print("check_modules: ok (%d modules, no include or call cycle, app/ included only by app/)"
          % len(set(module_of(p) for p in texts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
