#!/usr/bin/env python3
"""Turns the JSON lines of one scripts/bench run into the human tables and the summary lines.

Usage: report.py RESULTS.jsonl SUMMARY_OUT.jsonl
Input lines have "type": "meta" | "run" | "burst" | "slowloris" | "restart". Prints the tables to stdout and
appends one "summary" line per (scenario, server) to SUMMARY_OUT.
"""
import json
import statistics
import sys

SERVERS = ["strata", "nginx", "varnish"]

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
meta = next((r for r in rows if r["type"] == "meta"), {})
summary_out = open(sys.argv[2], "a")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{nd}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


servers = [s for s in SERVERS if s in meta.get("servers", SERVERS)]
print(f"Strata benchmark  {meta.get('date', '')}  run {meta.get('run_id', '')}")
print(f"machine: {meta.get('nproc')} cores, {meta.get('cpu')}, kernel {meta.get('kernel')}")
print(f"strata {meta.get('strata_rev')}, {meta.get('nginx_version')}, {meta.get('varnish_version')}, "
      f"{meta.get('wrk_version')}")
print(f"settings: {meta.get('duration')} s per run, {meta.get('rounds')} rounds (servers interleaved "
      f"A B C A B C), memory budget {meta.get('memory')} each, all on 127.0.0.1")
print("NOTE: the load generator (wrk, python) runs on the same "
      f"{meta.get('nproc')} cores as the servers and the origin: absolute numbers are lower than on a "
      "dedicated client; compare the servers with each other.")
print()

# ---- throughput scenarios -------------------------------------------------------------------
runs = [r for r in rows if r["type"] == "run"]
scenarios = []
for r in runs:
    if r["scenario"] not in scenarios:
        scenarios.append(r["scenario"])
agg = {}
for sc in scenarios:
    for sv in servers:
        rs = [r for r in runs if r["scenario"] == sc and r["server"] == sv]
        if not rs:
            continue
        failed = [r for r in rs if r["status"] != "ok"]
        good = [r for r in rs if r["status"] == "ok"]
        a = {
            "type": "summary", "run_id": meta.get("run_id"), "date": meta.get("date"),
            "strata_rev": meta.get("strata_rev"), "scenario": sc, "server": sv,
            "rounds": len(rs), "failed_rounds": len(failed),
            "status": "ok" if not failed else "FAILED",
            "conns": rs[0].get("conns"),
            "rps": med([r.get("rps") for r in good]),
            "mbps": med([r.get("mbps") for r in good]),
            "p50_ms": med([r.get("p50_ms") for r in good]),
            "p99_ms": med([r.get("p99_ms") for r in good]),
            "cpu_us": med([r.get("cpu_us") for r in good]),
            "origin_cpu_us": med([r.get("origin_cpu_us") for r in good]),
            "wrk_cpu_us": med([r.get("wrk_cpu_us") for r in good]),
            "peak_rss_mib": max([r.get("peak_rss_mib") or 0 for r in rs]) or None,
            "reason": failed[0].get("reason") if failed else None,
        }
        agg[(sc, sv)] = a
        summary_out.write(json.dumps(a) + "\n")

if scenarios:
    hdr = (f"{'scenario':<10} {'server':<8} {'conns':>5} {'req/s':>10} {'MB/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
           f"{'CPU us':>7} {'origin':>7} {'wrk':>7} {'peak RSS MiB':>12}  status")
    print("Throughput (median of rounds; peak RSS = VmHWM, summed over the server's processes; CPU us =")
    print("the server's CPU time per request, user + system over its processes: what a core buys; origin")
    print("and wrk = the origin's and the load generator's CPU time per request in the same runs: the")
    print("cores they use are the cores the server does not get)")
    print(hdr)
    print("-" * len(hdr))
    for sc in scenarios:
        for sv in servers:
            a = agg.get((sc, sv))
            if not a:
                continue
            if a["status"] == "ok":
                print(f"{sc:<10} {sv:<8} {a['conns'] or '-':>5} {fmt(a['rps'], 0):>10} {fmt(a['mbps']):>9} "
                      f"{fmt(a['p50_ms'], 2):>8} {fmt(a['p99_ms'], 2):>8} {fmt(a['cpu_us']):>7} "
                      f"{fmt(a['origin_cpu_us']):>7} {fmt(a['wrk_cpu_us']):>7} {fmt(a['peak_rss_mib']):>12}  ok")
            else:
                print(f"{sc:<10} {sv:<8} {a['conns'] or '-':>5} {'FAILED':>10} {'':>9} {'':>8} {'':>8} {'':>7} {'':>7} {'':>7} "
                      f"{fmt(a['peak_rss_mib']):>12}  FAILED ({a['failed_rounds']}/{a['rounds']} rounds: "
                      f"{a['reason']})")
    print()
    print("Ratios Strata/Varnish and Strata/nginx (req/s: above 1 favours Strata; p99, CPU per request and")
    print("RSS: below 1 does)")
    hdr = (f"{'scenario':<10} {'req/s S/V':>10} {'req/s S/N':>10} {'p99 S/V':>8} {'p99 S/N':>8} "
           f"{'CPU S/V':>8} {'CPU S/N':>8} {'RSS S/V':>8} {'RSS S/N':>8}")
    print(hdr)
    print("-" * len(hdr))
    for sc in scenarios:
        s, n, v = agg.get((sc, "strata")), agg.get((sc, "nginx")), agg.get((sc, "varnish"))

        def g(a, k):
            return a[k] if a and a["status"] == "ok" else None
        line = (f"{sc:<10} {ratio(g(s, 'rps'), g(v, 'rps')):>10} {ratio(g(s, 'rps'), g(n, 'rps')):>10} "
                f"{ratio(g(s, 'p99_ms'), g(v, 'p99_ms')):>8} {ratio(g(s, 'p99_ms'), g(n, 'p99_ms')):>8} "
                f"{ratio(g(s, 'cpu_us'), g(v, 'cpu_us')):>8} {ratio(g(s, 'cpu_us'), g(n, 'cpu_us')):>8} "
                f"{ratio(g(s, 'peak_rss_mib'), g(v, 'peak_rss_mib')):>8} "
                f"{ratio(g(s, 'peak_rss_mib'), g(n, 'peak_rss_mib')):>8}")
        print(line)
        for k, a in (("strata_over_varnish", v), ("strata_over_nginx", n)):
            if s and a and s["status"] == "ok" and a["status"] == "ok" and a["rps"]:
                summary_out.write(json.dumps({
                    "type": "ratio", "run_id": meta.get("run_id"), "date": meta.get("date"),
                    "strata_rev": meta.get("strata_rev"), "scenario": sc, "ratio": k,
                    "rps": round(s["rps"] / a["rps"], 3),
                    "p99": round(s["p99_ms"] / a["p99_ms"], 3) if a["p99_ms"] else None,
                    "cpu": round(s["cpu_us"] / a["cpu_us"], 3)
                    if s.get("cpu_us") and a.get("cpu_us") else None,
                    "rss": round(s["peak_rss_mib"] / a["peak_rss_mib"], 3)
                    if s["peak_rss_mib"] and a["peak_rss_mib"] else None}) + "\n")
    print()

# ---- cold burst -----------------------------------------------------------------------------
bursts = [r for r in rows if r["type"] == "burst"]
if bursts:
    print(f"Cold burst: {bursts[0].get('clients')} concurrent new connections, one slow URL "
          "(origin answers after 1 s), a new URL per round")
    hdr = f"{'server':<8} {'round':>5} {'origin reqs':>11} {'ok':>5} {'failed':>6} {'slowest s':>9} {'median s':>9} {'peak RSS MiB':>12}  status"
    print(hdr)
    print("-" * len(hdr))
    for sv in servers:
        for b in [b for b in bursts if b["server"] == sv]:
            print(f"{sv:<8} {b['round']:>5} {fmt(b.get('origin_requests'), 0):>11} {fmt(b.get('ok'), 0):>5} "
                  f"{fmt(b.get('failed'), 0):>6} {fmt(b.get('slowest_s'), 3):>9} {fmt(b.get('median_s'), 3):>9} "
                  f"{fmt(b.get('peak_rss_mib')):>12}  {b['status']}"
                  + (f" ({b.get('reason')})" if b.get("reason") else ""))
    print()

# ---- slowloris ------------------------------------------------------------------------------
slows = [r for r in rows if r["type"] == "slowloris"]
if slows:
    print(f"Slowloris: {slows[0].get('slow_target', '?')} connections sending their head 2 bytes a second "
          "(reopened when closed) while a normal client sends a GET every 100 ms")
    hdr = (f"{'server':<8} {'held':>11} {'closed':>7} {'normal reqs':>11} {'failed':>6} "
           f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  status")
    print(hdr)
    print("-" * len(hdr))
    for b in slows:
        held = f"{fmt(b.get('slow_held_min'), 0)}-{fmt(b.get('slow_held_max'), 0)}"
        print(f"{b['server']:<8} {held:>11} {fmt(b.get('closed_by_server'), 0):>7} "
              f"{fmt(b.get('normal_requests'), 0):>11} {fmt(b.get('normal_failed'), 0):>6} "
              f"{fmt(b.get('normal_p50_ms'), 1):>7} {fmt(b.get('normal_p99_ms'), 1):>7} "
              f"{fmt(b.get('normal_max_ms'), 1):>7}  {b['status']}"
              + (f" ({b.get('reason')})" if b.get("reason") else ""))
    print()

# ---- warm restart ---------------------------------------------------------------------------
restarts = [r for r in rows if r["type"] == "restart"]
if not restarts and "restart" in meta.get("scenarios", []) and "strata" in meta.get("servers", []):
    restarts = [{"status": "FAILED", "reason": "no result recorded (see the log on stderr)"}]
if restarts:
    print("Warm restart (Strata only: Varnish malloc storage does not survive a restart)")
    for r in restarts:
        if r["status"] == "ok":
            print(f"  {r['objects']:,} objects of {r['object_size']} stored in {r['fill_s']:.1f} s "
                  f"({r['fill_rps']:,.0f} misses/s, origin fetches {r.get('origin_fetches')}); "
                  f"stop took {r['stop_s']:.2f} s; start to first disk hit: {r['first_hit_s']:.3f} s "
                  f"(listener up after {r['listen_s']:.3f} s); peak RSS after restart+hit "
                  f"{fmt(r.get('peak_rss_mib'))} MiB; disk {fmt(r.get('disk_mib'))} MiB")
        else:
            print(f"  FAILED: {r.get('reason')}")
    print()
