"""Slow and idle clients against a Qala server, for bench/overload.sh.

Usage: python3 bench/slow_clients.py HOST PORT CONNECTIONS SECONDS

Holds CONNECTIONS connections for SECONDS: half send half a request line and
then nothing (slowloris), half send one complete request and then sit idle
on the kept-alive connection. Whenever the server closes one, it is opened
again at once, as an attacker would. Prints one line of counts at the end:
how many were open at the peak and at the end, how many the server closed
(by kind), how many it refused with 503, and connect failures.
"""

import asyncio
import sys
import time

HALF_LINE = b"GET /api/v1/categ"
FULL = b"GET /api/v1/categories HTTP/1.1\r\nHost: qala\r\n\r\n"


async def client(host, port, slow, deadline, stats):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            stats["connect_failed"] += 1
            await asyncio.sleep(0.05)
            continue
        stats["open"] += 1
        stats["peak"] = max(stats["peak"], stats["open"])
        try:
            writer.write(HALF_LINE if slow else FULL)
            await writer.drain()
            remaining = deadline - time.monotonic()
            data = b""
            try:
                while True:
                    chunk = await asyncio.wait_for(reader.read(65536), remaining)
                    if not chunk:
                        break
                    data += chunk
                    remaining = deadline - time.monotonic()
            except asyncio.TimeoutError:
                continue  # still open at the end
            if data.startswith(b"HTTP/1.1 503"):
                stats["refused_503"] += 1
            elif slow:
                stats["closed_slow"] += 1
            else:
                stats["closed_idle"] += 1
        except (OSError, asyncio.IncompleteReadError):
            stats["reset"] += 1
        finally:
            stats["open"] -= 1
            writer.close()


async def main():
    host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    stats = dict(open=0, peak=0, closed_slow=0, closed_idle=0, refused_503=0, reset=0, connect_failed=0)
    deadline = time.monotonic() + seconds
    tasks = [client(host, port, i % 2 == 0, deadline, stats) for i in range(n)]

    async def watch():
        # The number still open just before the end.
        while time.monotonic() < deadline - 0.5:
            await asyncio.sleep(0.1)
        stats["open_at_end"] = stats["open"]

    await asyncio.gather(watch(), *tasks)
    print(" ".join(f"{k}={v}" for k, v in stats.items() if k != "open"))


asyncio.run(main())
