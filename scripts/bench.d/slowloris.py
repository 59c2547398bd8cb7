#!/usr/bin/env python3
"""Slowloris against one server on loopback, bounded: N connections that send a request head a
few bytes at a time (from 127.0.0.2..127.0.0.9, so a per-address cap does not simply refuse
them), reopened when the server closes them, while a normal client on 127.0.0.1 sends one GET
on a new connection every 100 ms and times each answer.

usage: slowloris.py HOST PORT PATH SLOW_CONNECTIONS SECONDS
Prints one JSON line: slow connections held, closed by the server, refused; the normal client's
requests, failures, and latency p50/p99/max in ms.
"""
import json
import resource
import selectors
import socket
import sys
import time


def normal_get(host, port, path, timeout=5.0):
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout,
                                      source_address=("127.0.0.1", 0)) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        ok = data.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    return ok, (time.monotonic() - start) * 1000.0


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    slow_target, seconds = int(sys.argv[4]), float(sys.argv[5])
    sel = selectors.DefaultSelector()
    slow = {}  # socket -> bytes still to dribble
    stats = {"opened": 0, "closed_by_server": 0, "refused": 0}
    head = b"GET / HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"a" * 4000

    def open_slow(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((f"127.0.0.{2 + i % 8}", 0))
            s.connect_ex((host, port))
        except OSError:
            stats["refused"] += 1
            s.close()
            return
        slow[s] = head
        sel.register(s, selectors.EVENT_READ)
        stats["opened"] += 1

    for i in range(slow_target):
        open_slow(i)
    deadline = time.monotonic() + seconds
    next_drip = time.monotonic()
    next_normal = time.monotonic() + 1.0  # let the slow connections settle first
    latencies, failures, held = [], 0, []
    counter = slow_target
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_drip:  # a few bytes on every slow connection, once a second
            for s in list(slow):
                rest = slow[s]
                if not rest:
                    continue
                try:
                    sent = s.send(rest[:2])
                    slow[s] = rest[sent:]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    pass
            held.append(len(slow))
            next_drip = now + 1.0
        if now >= next_normal:
            ok, ms = normal_get(host, port, path)
            latencies.append(ms)
            failures += 0 if ok else 1
            next_normal = time.monotonic() + 0.1
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:  # closed by the server (or refused at connect): reopen
                sel.unregister(s)
                s.close()
                del slow[s]
                stats["closed_by_server"] += 1
                counter += 1
                if time.monotonic() < deadline - 1:
                    open_slow(counter)
    for s in list(slow):
        sel.unregister(s)
        s.close()
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else None

    print(json.dumps({
        "slow_target": slow_target, "slow_held_min": min(held) if held else 0,
        "slow_held_max": max(held) if held else 0, **stats,
        "normal_requests": len(latencies), "normal_failed": failures,
        "normal_p50_ms": pct(0.5), "normal_p99_ms": pct(0.99),
        "normal_max_ms": round(latencies[-1], 1) if latencies else None,
    }))


if __name__ == "__main__":
    main()
