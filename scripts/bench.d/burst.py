#!/usr/bin/env python3
"""Cold burst client for scripts/bench: N concurrent clients, one new connection and one GET
each, all started at once against one URL. Prints one JSON line: ok, failed, slowest and median
client time in seconds (connect to last body byte), and the first error seen.

Usage: burst.py HOST PORT PATH [N] [TIMEOUT_S]
"""
import asyncio
import json
import sys
import time

HOST, PORT, PATH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
N = int(sys.argv[4]) if len(sys.argv) > 4 else 500
TIMEOUT = float(sys.argv[5]) if len(sys.argv) > 5 else 30.0


async def one(start_evt):
    await start_evt.wait()
    t0 = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.open_connection(HOST, PORT)
        writer.write(f"GET {PATH} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = None
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length is not None:
            await reader.readexactly(length)
        else:
            await reader.read()
        if status != 200:
            return (time.monotonic() - t0, f"status {status}")
        return (time.monotonic() - t0, None)
    except Exception as e:  # noqa: BLE001 - every failure is one failed client
        return (time.monotonic() - t0, type(e).__name__ + ": " + str(e)[:80])
    finally:
        if writer is not None:
            writer.close()


async def main():
    evt = asyncio.Event()
    tasks = [asyncio.ensure_future(asyncio.wait_for(one(evt), TIMEOUT)) for _ in range(N)]
    await asyncio.sleep(0.05)
    evt.set()
    res = await asyncio.gather(*tasks, return_exceptions=True)
    times, errors = [], []
    for r in res:
        if isinstance(r, BaseException):
            errors.append("timeout")
            continue
        t, err = r
        if err:
            errors.append(err)
        else:
            times.append(t)
    times.sort()
    print(json.dumps({
        "clients": N, "ok": len(times), "failed": len(errors),
        "slowest_s": round(times[-1], 4) if times else None,
        "median_s": round(times[len(times) // 2], 4) if times else None,
        "first_error": errors[0] if errors else None,
    }))


asyncio.run(main())
