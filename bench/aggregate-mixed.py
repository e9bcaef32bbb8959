#!/usr/bin/env python3
"""Aggregates compare.sh's mixed mode (raw-mixed/rep*/<server>/) into mixed.md and mixed.json.

    python3 bench/aggregate-mixed.py --in RESULTS/raw-mixed --out RESULTS [--machine RESULTS/machine.txt] [--title TEXT]

Part 1: the LoadTest's tcp-latency ping-pong alone and beside udpgen's load, with udpgen's own figures for that load.
Part 2: udpgen alone and beside the LoadTest's tcp-bulk (upload, then download), with the bulk MB/s of each window.
Every figure is the median over the repetitions; the ratios divide those medians (loaded / alone). Standard library
only.

Files read per repetition and server (written by compare.sh):
    latency-alone/report.json, latency-loaded/report.json   LoadTest reports (tcp-latency)
    latency-udp.jsonl                                        udpgen's step beside the loaded ping-pong
    udp-alone-<C>x1.jsonl, udp-<upload|download>-<C>x1.jsonl udpgen's steps alone and beside bulk
    bulk/report.json                                         LoadTest report (tcp-bulk, both directions)
    checks.jsonl                                             whether each loaded run fell inside the other's load
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

SERVER_ORDER = ["direct", "kestrelsocks", "hev", "dante"]
SERVER_NAMES = {"direct": "direct", "kestrelsocks": "KestrelSocks", "hev": "hev", "dante": "Dante"}
UDP_FIGURES = ["delivered_rate", "loss_pct", "rtt_p50_us", "rtt_p99_us", "offered_rate", "associations",
               "server_cpu_us_per_dgram"]


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except (OSError, ValueError):
        pass
    return out


def lt_cases(path):
    """{case name: {"verified": bool, metric name: value}} of a LoadTest report."""
    report = read_json(path)
    if not report:
        return {}
    cases = {}
    for c in report.get("cases", []):
        entry = {"verified": bool(c.get("verified")), "errors": c.get("errorCount", 0)}
        for m in c.get("metrics", []):
            entry[m["name"]] = m["value"]
        cases[c["case"]] = entry
    return cases


def udp_step(path):
    steps = read_jsonl(path)
    return steps[-1] if steps else None


def load(raw):
    """One record per (rep, server)."""
    records = []
    for sdir in sorted(glob.glob(os.path.join(raw, "rep*", "*"))):
        if not os.path.isdir(sdir):
            continue
        rep, server = os.path.basename(os.path.dirname(sdir)), os.path.basename(sdir)
        rec = {"rep": rep, "server": server, "checks": {}}
        for c in read_jsonl(os.path.join(sdir, "checks.jsonl")):
            rec["checks"][c["sample"]] = c
        for kind in ("alone", "loaded"):
            cases = lt_cases(os.path.join(sdir, f"latency-{kind}", "report.json"))
            rec[f"latency_{kind}"] = next(iter(cases.values()), None)
        rec["latency_udp"] = udp_step(os.path.join(sdir, "latency-udp.jsonl"))
        rec["udp"] = {}
        for path in glob.glob(os.path.join(sdir, "udp-*-*x*.jsonl")):
            m = re.fullmatch(r"udp-(alone|upload|download)-(\d+x\d+)\.jsonl", os.path.basename(path))
            if m:
                rec["udp"][(m.group(1), m.group(2))] = udp_step(path)
        rec["bulk"] = {}
        for name, case in lt_cases(os.path.join(sdir, "bulk", "report.json")).items():
            m = re.fullmatch(r"(\d+) streams? (upload|download)", name)
            if m:
                case["streams"] = int(m.group(1))
                rec["bulk"][m.group(2)] = case
        records.append(rec)
    return records


def median(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else None


def ratio(loaded, alone):
    if loaded is None or alone is None or alone == 0:
        return None
    return loaded / alone


def fmt_ratio(r):
    if r is None:
        return "—"
    if r >= 10:
        return f"{r:,.0f}×"
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def fmt_us(v):
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_n(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_loss(v):
    return "—" if v is None else f"{v:.2f}"


def server_key(server):
    return (SERVER_ORDER.index(server) if server in SERVER_ORDER else len(SERVER_ORDER), server)


def udp_notes(steps, label):
    notes = []
    behind = sum(1 for s in steps if s and s.get("sender_behind"))
    if behind:
        notes.append(f"{label}: sender behind in {behind}/{len(steps)}")
    bad = sum(s.get("corrupt", 0) + s.get("misrouted", 0) for s in steps if s)
    if bad:
        notes.append(f"{label}: {bad:,} corrupt or misrouted")
    drops = sum(s.get("drops_generator_sockets", 0) or 0 for s in steps if s)
    if drops:
        notes.append(f"{label}: {drops:,.0f} dropped at the generator's sockets")
    relay = sum(s.get("drops_relay_sockets", 0) or 0 for s in steps if s)
    if relay:
        notes.append(f"{label}: {relay:,.0f} dropped at the relay's sockets")
    # Lost datagrams no kernel counter accounts for: dropped by the server itself, or back after the drain.
    unexplained = sum(max(0, (s.get("lost", 0) or 0) - sum(s.get(k, 0) or 0 for k in (
        "drops_client_sockets", "drops_echo_socket", "drops_relay_sockets", "drops_other_loopback_sockets")))
        for s in steps if s)
    if unexplained:
        notes.append(f"{label}: {unexplained:,.0f} lost with no kernel drop counted (dropped by the server, "
                     "or back after the drain)")
    return notes


def part1(records):
    rows = []
    for server in sorted({r["server"] for r in records}, key=server_key):
        mine = [r for r in records if r["server"] == server]
        alone = [r["latency_alone"] for r in mine if r["latency_alone"]]
        loaded = [r["latency_loaded"] for r in mine if r["latency_loaded"]]
        udp = [r["latency_udp"] for r in mine if r["latency_udp"]]
        row = {"server": server, "reps": len(mine)}
        for key, name in (("p50", "p50 latency"), ("p99", "p99 latency"), ("p999", "p99.9 latency"),
                          ("round_trips", "round trips")):
            row[f"{key}_alone"] = median([a.get(name) for a in alone])
            row[f"{key}_loaded"] = median([a.get(name) for a in loaded])
            row[f"{key}_ratio"] = ratio(row[f"{key}_loaded"], row[f"{key}_alone"])
        for f in UDP_FIGURES:
            row[f"udp_{f}"] = median([s.get(f) for s in udp])
        notes = []
        missing = len(mine) - min(len(alone), len(loaded), len(udp))
        if missing:
            notes.append(f"{missing} of {len(mine)} repetitions incomplete")
        unverified = sum(1 for a in alone + loaded if not a["verified"])
        if unverified:
            notes.append(f"{unverified} ping-pong run(s) not verified")
        for r in mine:
            c = r["checks"].get("latency-loaded")
            if c and not c["covered"]:
                notes.append(f"{r['rep']}: {c['note']}")
        notes += udp_notes(udp, "UDP")
        row["notes"] = notes
        rows.append(row)
    return rows


def part2(records):
    rows = []
    layouts = sorted({layout for r in records for (_, layout) in r["udp"]}, key=lambda l: int(l.split("x")[0]))
    for server in sorted({r["server"] for r in records}, key=server_key):
        mine = [r for r in records if r["server"] == server]
        for layout in layouts:
            alone = [r["udp"].get(("alone", layout)) for r in mine]
            alone = [s for s in alone if s]
            for direction in ("upload", "download"):
                loaded = [r["udp"].get((direction, layout)) for r in mine]
                loaded = [s for s in loaded if s]
                bulk = [r["bulk"].get(direction) for r in mine if r["bulk"].get(direction)]
                if not alone and not loaded:
                    continue
                row = {"server": server, "layout": layout, "associations": int(layout.split("x")[0]),
                       "direction": direction, "reps": len(mine),
                       "streams": bulk[0]["streams"] if bulk else None,
                       "bulk_mb_s": median([b.get("throughput") for b in bulk])}
                for f in UDP_FIGURES:
                    row[f"{f}_alone"] = median([s.get(f) for s in alone])
                    row[f"{f}_loaded"] = median([s.get(f) for s in loaded])
                for f in ("delivered_rate", "rtt_p50_us", "rtt_p99_us"):
                    row[f"{f}_ratio"] = ratio(row[f"{f}_loaded"], row[f"{f}_alone"])
                notes = []
                if len(loaded) < len(mine):
                    notes.append(f"{len(mine) - len(loaded)} of {len(mine)} loaded runs missing")
                unverified = sum(1 for b in bulk if not b["verified"])
                if unverified:
                    notes.append(f"bulk not verified in {unverified}")
                for r in mine:
                    c = r["checks"].get(f"bulk-{direction}")
                    if c and not c["covered"]:
                        notes.append(f"{r['rep']}: {c['note']}")
                notes += udp_notes(alone, "alone") + udp_notes(loaded, "beside bulk")
                row["notes"] = notes
                rows.append(row)
    return rows


def write_md(p1, p2, args):
    lines = [f"# {args.title}", ""]
    if args.machine and os.path.exists(args.machine):
        with open(args.machine) as f:
            lines += ["```", f.read().rstrip(), "```", ""]
    reps = max([r["reps"] for r in p1 + p2], default=0)
    lines += [
        "Each server carries TCP and UDP at the same time (bench/README.md, \"TCP and UDP at once\"). "
        + (f"Medians of {reps} repetitions; " if reps > 1 else "One repetition; ")
        + "*×* is loaded ÷ alone, of those medians: above 1 means slower (round trips) or more (delivered/s). "
        "The direct row is the machine's own interference: the same generators with no proxy, on the same two "
        "shared cores.",
        "",
    ]
    if p1:
        r0 = p1[0]
        lines += [
            "## 1. TCP ping-pong under UDP load",
            "",
            "The LoadTest's `tcp-latency` (one session, 64-byte ping-pong, one message in flight) alone, then again "
            "while udpgen offers "
            + (f"{r0['udp_offered_rate']:,.0f} datagrams/s over {r0['udp_associations']:,.0f} associations"
               if r0["udp_offered_rate"] else "UDP")
            + " (1,200-byte payload) through the same server. The UDP columns are udpgen's own figures for that "
            "load; its window spans the ping-pong's start-up, warm-up and window.",
            "",
            "| server | p50 µs alone | p50 beside UDP | × | p99 µs alone | p99 beside UDP | × | UDP delivered/s "
            "| UDP loss % | UDP p50 µs | UDP p99 µs | notes |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in p1:
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                SERVER_NAMES.get(r["server"], r["server"]), fmt_us(r["p50_alone"]), fmt_us(r["p50_loaded"]),
                fmt_ratio(r["p50_ratio"]), fmt_us(r["p99_alone"]), fmt_us(r["p99_loaded"]), fmt_ratio(r["p99_ratio"]),
                fmt_n(r["udp_delivered_rate"]), fmt_loss(r["udp_loss_pct"]), fmt_us(r["udp_rtt_p50_us"]),
                fmt_us(r["udp_rtt_p99_us"]), "; ".join(r["notes"])))
        lines.append("")
    if p2:
        r0 = next((r for r in p2 if r["offered_rate_alone"] or r["offered_rate_loaded"]), p2[0])
        rate = r0["offered_rate_alone"] or r0["offered_rate_loaded"]
        streams = next((r["streams"] for r in p2 if r["streams"]), None)
        lines += [
            "## 2. UDP under TCP bulk load",
            "",
            "udpgen at " + (f"{rate:,.0f} datagrams/s" if rate else "a fixed rate")
            + " (1,200-byte payload) alone, then again inside each measured window of the LoadTest's `tcp-bulk` with "
            + (f"{streams} streams" if streams else "its streams")
            + " through the same server (upload, then download; one row each). *bulk MB/s* is what the bulk streams "
            "moved in that window, which holds every udpgen run of the row's direction.",
            "",
            "| server | associations | beside | bulk MB/s | delivered/s alone | beside bulk | × | loss % alone "
            "| beside bulk | p50 µs alone | beside bulk | × | p99 µs alone | beside bulk | × | notes |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in p2:
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                SERVER_NAMES.get(r["server"], r["server"]), f"{r['associations']:,}",
                f"{r['streams']} × {r['direction']}" if r["streams"] else r["direction"], fmt_n(r["bulk_mb_s"]),
                fmt_n(r["delivered_rate_alone"]), fmt_n(r["delivered_rate_loaded"]), fmt_ratio(r["delivered_rate_ratio"]),
                fmt_loss(r["loss_pct_alone"]), fmt_loss(r["loss_pct_loaded"]),
                fmt_us(r["rtt_p50_us_alone"]), fmt_us(r["rtt_p50_us_loaded"]), fmt_ratio(r["rtt_p50_us_ratio"]),
                fmt_us(r["rtt_p99_us_alone"]), fmt_us(r["rtt_p99_us_loaded"]), fmt_ratio(r["rtt_p99_us_ratio"]),
                "; ".join(r["notes"])))
        lines.append("")
    with open(os.path.join(args.out, "mixed.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--in", dest="inp", required=True, help="the results' raw-mixed/ directory")
    p.add_argument("--out", required=True, help="where mixed.md and mixed.json go")
    p.add_argument("--machine", help="machine.txt to quote at the top")
    p.add_argument("--title", default="TCP and UDP through the same server at once")
    args = p.parse_args()
    records = load(args.inp)
    p1 = [r for r in part1(records) if r["p50_alone"] is not None or r["p50_loaded"] is not None]
    p2 = part2(records)
    if not p1 and not p2:
        print(f"aggregate-mixed: no mixed runs under {args.inp}/rep*/", file=sys.stderr)
        return 1
    with open(os.path.join(args.out, "mixed.json"), "w") as f:
        json.dump({"title": args.title, "latency_under_udp": p1, "udp_under_bulk": p2}, f, indent=1)
    write_md(p1, p2, args)
    print("mixed, ping-pong p99 µs alone -> beside UDP:")
    for r in p1:
        print(f"  {r['server']:<13} {fmt_us(r['p99_alone']):>8} -> {fmt_us(r['p99_loaded']):>8}  ({fmt_ratio(r['p99_ratio'])})")
    print("mixed, UDP loss % and p99 µs alone -> beside bulk:")
    for r in p2:
        print(f"  {r['server']:<13} {r['layout']:<6} {r['direction']:<8} loss {fmt_loss(r['loss_pct_alone'])} -> "
              f"{fmt_loss(r['loss_pct_loaded'])}, p99 {fmt_us(r['rtt_p99_us_alone'])} -> {fmt_us(r['rtt_p99_us_loaded'])}"
              f" ({fmt_ratio(r['rtt_p99_us_ratio'])}), bulk {fmt_n(r['bulk_mb_s'])} MB/s")
    print(f"mixed: {os.path.join(args.out, 'mixed.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
