#!/usr/bin/env python3
"""Aggregates udpgen's per-step JSON lines (raw/rep*/udp/*.jsonl) into udp.md and udp.json.

    python3 bench/aggregate-udp.py --in RESULTS/raw --out RESULTS [--machine RESULTS/machine.txt] [--title TEXT]

Every figure is the median over the repetitions of one (layout, server, offered rate); udp.md has one table per
number of associations, the ratios of KestrelSocks to hev (and to Dante), and the highest loss-free rate of each
server and layout. Standard library only.
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys

LOSS_FREE_PCT = 0.1
SERVER_ORDER = ["direct", "kestrelsocks", "kestrelsocks-shared", "hev", "dante"]
SERVER_NAMES = {"direct": "direct", "kestrelsocks": "KestrelSocks", "kestrelsocks-shared": "KestrelSocks (shared port)",
                "hev": "hev", "dante": "Dante"}
KS_SERVERS = ("kestrelsocks", "kestrelsocks-shared")
METRICS = [
    "delivered_rate", "loss_pct", "rtt_p50_us", "rtt_p99_us", "rtt_max_us", "server_cpu_us_per_dgram",
    "dgrams_per_server_cpu_second", "server_ctx_switches_per_dgram", "generator_cpu_us_per_dgram", "sent", "received",
    "sender_rate", "drops_generator_sockets", "drops_client_sockets", "drops_echo_socket", "drops_relay_sockets",
    "drops_other_loopback_sockets",
]


def load(raw):
    steps = []
    for path in sorted(glob.glob(os.path.join(raw, "rep*", "udp", "*.jsonl"))):
        rep = os.path.basename(os.path.dirname(os.path.dirname(path)))
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    step = json.loads(line)
                    step["rep"] = rep
                    steps.append(step)
    return steps


def median(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else None


def server_key(server, layout):
    order = SERVER_ORDER.index(server) if server in SERVER_ORDER else len(SERVER_ORDER)
    per = int(layout.split("x")[1])
    return (order, -per, server)


def display(server, layout, group_layouts):
    name = SERVER_NAMES.get(server, server)
    same = [l for (s, l) in group_layouts if s == server]
    if len(same) > 1 or int(layout.split("x")[1]) > 1:
        name += " " + layout.replace("x", "×")
    return name


def fmt(v, digits=0, thousands=True):
    if v is None:
        return "—"
    if digits == 0:
        return f"{v:,.0f}" if thousands else f"{v:.0f}"
    return f"{v:,.{digits}f}"


def fmt_us(v):
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def aggregate(steps):
    rows = {}
    for s in steps:
        key = (s["associations"], s["layout"], s["label"] or s["target"], s["offered_rate"])
        rows.setdefault(key, []).append(s)
    out = []
    for (assocs, layout, server, rate), group in rows.items():
        row = {"associations": assocs, "layout": layout, "server": server, "offered_rate": rate,
               "reps": len(group), "sender_behind_reps": sum(1 for g in group if g.get("sender_behind")),
               "corrupt": sum(g.get("corrupt", 0) + g.get("misrouted", 0) for g in group),
               "duplicates": sum(g.get("duplicates", 0) for g in group),
               "not_sent": sum(g.get("not_sent_eagain", 0) + g.get("not_sent_errors", 0) for g in group)}
        for m in METRICS:
            row[m] = median([g.get(m) for g in group])
        row["loss_pct_min"] = min(g["loss_pct"] for g in group)
        row["loss_pct_max"] = max(g["loss_pct"] for g in group)
        out.append(row)
    out.sort(key=lambda r: (r["associations"], r["offered_rate"], server_key(r["server"], r["layout"])))
    return out


def loss_free(rows, server, layout):
    """Highest rate such that it and every lower rate lost < 0.1 % with the sender on pace; and why it stops."""
    mine = sorted((r for r in rows if r["server"] == server and r["layout"] == layout), key=lambda r: r["offered_rate"])
    best, reason = None, ""
    for r in mine:
        behind = r["sender_behind_reps"] * 2 > r["reps"]
        if r["loss_pct"] is not None and r["loss_pct"] < LOSS_FREE_PCT and not behind:
            best = r["offered_rate"]
            continue
        if behind:
            reason = f"sender behind at {r['offered_rate']:,}"
        else:
            reason = f"{r['loss_pct']:.2g} % at {r['offered_rate']:,}"
        break
    else:
        if mine:
            reason = "every rate"
    return best, reason


def notes(r):
    n = []
    if r["sender_behind_reps"]:
        n.append(f"sender behind ({r['sender_rate']:,.0f}/s)" if r["reps"] == 1
                 else f"sender behind in {r['sender_behind_reps']}/{r['reps']}")
    if r["drops_generator_sockets"]:
        n.append(f"{r['drops_generator_sockets']:,.0f} dropped at the generator's sockets"
                 + (f" ({r['drops_echo_socket']:,.0f} at the echo)" if r["drops_echo_socket"] else ""))
    if r["drops_relay_sockets"]:
        n.append(f"{r['drops_relay_sockets']:,.0f} dropped at the relay's sockets")
    if r["corrupt"]:
        n.append(f"{r['corrupt']} corrupt")
    if r["duplicates"]:
        n.append(f"{r['duplicates']} duplicates")
    if r["not_sent"]:
        n.append(f"{r['not_sent']} not sent")
    if r["reps"] > 1 and r["loss_pct_max"] >= LOSS_FREE_PCT:
        n.append(f"loss {r['loss_pct_min']:.2g}–{r['loss_pct_max']:.2g} %")
    return "; ".join(n)


def write_md(rows, args):
    lines = [f"# {args.title}", ""]
    if args.machine and os.path.exists(args.machine):
        with open(args.machine) as f:
            lines += ["```", f.read().rstrip(), "```", ""]
    reps = max((r["reps"] for r in rows), default=0)
    lines += [
        "Measured with `bench/udpgen` (bench/README.md, \"UDP at fixed offered rates\"): every association has its own "
        "client socket, datagrams carry a 1,200-byte payload (1,210 bytes with the SOCKS header) to an echo inside the "
        "generator and back, so the server relays each datagram twice. " +
        (f"Medians of {reps} repetitions. " if reps > 1 else "One repetition. ") +
        "*delivered/s*: unique datagrams back per second of the window; *loss*: sent − received over sent; *p50, p99*: "
        "round trip in µs; *µs/dgram*: server CPU (user + system, whole process tree) per delivered datagram; "
        "*dgram/CPU-s*: delivered datagrams per second of server CPU; *ctx/dgram*: the server's context switches per "
        "delivered datagram. \"Sender behind\": the generator could not offer the rate within 1 % (two shared cores), "
        "so the step did not run at its nominal rate.",
        "",
    ]
    groups = sorted({r["associations"] for r in rows})
    summary = []
    for assocs in groups:
        mine = [r for r in rows if r["associations"] == assocs]
        group_layouts = sorted({(r["server"], r["layout"]) for r in mine}, key=lambda sl: server_key(*sl))
        title = "1 association" if assocs == 1 else f"{assocs:,} associations"
        lines += [f"## {title}", "",
                  "| offered/s | server | delivered/s | loss % | p50 µs | p99 µs | µs/dgram | dgram/CPU-s | ctx/dgram | notes |",
                  "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in mine:
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                fmt(r["offered_rate"]), display(r["server"], r["layout"], group_layouts), fmt(r["delivered_rate"]),
                "—" if r["loss_pct"] is None else f"{r['loss_pct']:.2f}", fmt_us(r["rtt_p50_us"]),
                fmt_us(r["rtt_p99_us"]), "—" if r["server_cpu_us_per_dgram"] is None else f"{r['server_cpu_us_per_dgram']:.1f}",
                fmt(r["dgrams_per_server_cpu_second"]),
                "—" if r["server_ctx_switches_per_dgram"] is None else f"{r['server_ctx_switches_per_dgram']:.2f}",
                notes(r)))
        lines.append("")

        ks_layouts = [(s, l) for (s, l) in group_layouts if s in KS_SERVERS]
        others = [s for s in ("hev", "dante") if any(sv == s for (sv, _) in group_layouts)]
        if ks_layouts and others:
            head = "| offered/s | KestrelSocks |"
            sep = "| ---: | --- |"
            for o in others:
                head += f" CPU efficiency ÷ {SERVER_NAMES[o]} | p50 ÷ {SERVER_NAMES[o]} |"
                sep += " ---: | ---: |"
            lines += ["Ratios: *CPU efficiency* is KestrelSocks' datagrams per server CPU-second over the other's "
                      "(above 1 means KestrelSocks spends less CPU per datagram); *p50* is KestrelSocks' median round "
                      "trip over the other's (below 1 means faster).", "", head, sep]
            for rate in sorted({r["offered_rate"] for r in mine}):
                for (ks_server, kl) in ks_layouts:
                    ks = next((r for r in mine if r["server"] == ks_server and r["layout"] == kl
                               and r["offered_rate"] == rate), None)
                    if not ks:
                        continue
                    shared = " shared port" if ks_server == "kestrelsocks-shared" else ""
                    cells = f"| {fmt(rate)} | {kl.replace('x', '×')}{shared} |"
                    for o in others:
                        other = next((r for r in mine if r["server"] == o and r["offered_rate"] == rate), None)
                        cells += " {} | {} |".format(
                            fmt_ratio(ks["dgrams_per_server_cpu_second"], other and other["dgrams_per_server_cpu_second"]),
                            fmt_ratio(ks["rtt_p50_us"], other and other["rtt_p50_us"]))
                    lines.append(cells)
            lines.append("")
        for (server, layout) in group_layouts:
            best, reason = loss_free(rows, server, layout)
            summary.append((assocs, server, layout, best, reason))

    servers = [s for s in SERVER_ORDER if any(x[1] == s for x in summary)]
    servers += sorted({x[1] for x in summary} - set(servers))
    lines += [f"## Highest loss-free rate (< {LOSS_FREE_PCT} % loss)", "",
              f"The highest offered rate at which that rate and every lower one lost less than {LOSS_FREE_PCT} % with "
              "the sender on pace (median over repetitions), and in brackets what stopped it at the next rate. "
              "\"none\": already the lowest rate failed.", "",
              "| associations | " + " | ".join(SERVER_NAMES.get(s, s) for s in servers) + " |",
              "| --- | " + " | ".join("---" for _ in servers) + " |"]
    for assocs in groups:
        cells = []
        for s in servers:
            entries = [x for x in summary if x[0] == assocs and x[1] == s]
            entries.sort(key=lambda x: -int(x[2].split("x")[1]))
            parts = []
            for (_, _, layout, best, reason) in entries:
                text = fmt(best) if best is not None else "none"
                if reason and reason != "every rate":
                    text += f" ({reason})"
                elif reason == "every rate":
                    text = "≥ " + text
                if len(entries) > 1 or int(layout.split("x")[1]) > 1:
                    text = f"{layout.replace('x', '×')}: {text}"
                parts.append(text)
            cells.append("<br>".join(parts) if parts else "—")
        lines.append(f"| {assocs:,} | " + " | ".join(cells) + " |")
    lines.append("")
    with open(os.path.join(args.out, "udp.md"), "w") as f:
        f.write("\n".join(lines))
    return summary


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--in", dest="inp", required=True, help="the results' raw/ directory")
    p.add_argument("--out", required=True, help="where udp.md and udp.json go")
    p.add_argument("--machine", help="machine.txt to quote at the top")
    p.add_argument("--title", default="UDP relays at fixed offered rates")
    args = p.parse_args()
    steps = load(args.inp)
    if not steps:
        print(f"aggregate-udp: no udpgen steps under {args.inp}/rep*/udp/", file=sys.stderr)
        return 1
    rows = aggregate(steps)
    with open(os.path.join(args.out, "udp.json"), "w") as f:
        json.dump({"title": args.title, "rows": rows}, f, indent=1)
    summary = write_md(rows, args)
    print("udp, highest loss-free rate (< 0.1 % loss):")
    for (assocs, server, layout, best, reason) in summary:
        print(f"  {assocs:>5} assoc  {server:<13} {layout:<7} {fmt(best) if best is not None else 'none':>8}  {reason}")
    print(f"udp: {os.path.join(args.out, 'udp.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
