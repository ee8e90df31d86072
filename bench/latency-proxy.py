#!/usr/bin/env python3
"""A TCP proxy on loopback that adds a fixed one-way delay, so RTT = 2 x --delay-ms.

Part of the benchmark (bench/run): it puts a network between kvenv (or curl) and a local OpenBao
without touching the machine's network settings (no `tc netem`, which needs privileges and would
slow every other loopback user on the machine).

How it models a link:
- Every chunk read from one side is written to the other side `delay` later. Chunks are queued,
  not slept on one by one, so the delay adds latency only, not a bandwidth limit: a burst of 100
  requests arrives 10 ms later as a burst.
- The TCP handshake costs one RTT on a real link before the client can send. Here the client's
  connect() returns at once, so the first bytes towards the server are held until
  accept time + 3 x delay (SYN, SYN-ACK, then the request's own one-way trip); the answer then
  reaches the client 2 RTT after it started connecting, as on a real link.
- TLS passes through untouched (it is just bytes), so its handshake round trips are paid too.

Bounded: it serves at most --max-conns connections at once and exits by itself after --lifetime
seconds. It binds 127.0.0.1 only and forwards only to --upstream, which must be on loopback.
"""

import argparse
import asyncio
import ipaddress
import os
import signal
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT on loopback to forward to")
    p.add_argument("--delay-ms", type=float, default=10.0, help="one-way delay (default 10)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    p.add_argument("--port-file", help="write the listening port here once ready")
    p.add_argument("--lifetime", type=float, default=3600.0, help="exit after this many seconds")
    p.add_argument("--max-conns", type=int, default=512, help="connections served at once")
    p.add_argument(
        "--no-handshake", action="store_true", help="do not charge an RTT for the TCP handshake"
    )
    p.add_argument("--count-file", help="keep the number of connections accepted so far here")
    p.add_argument("--verbose", action="store_true", help="log each connection on stderr")
    return p.parse_args()


async def pipe(reader, writer, delay, not_before):
    """Copy reader to writer, each chunk `delay` seconds after it was read, in order."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def pump_in():
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time(), None))

    async def pump_out():
        while True:
            due, data = await queue.get()
            wait = max(due, not_before) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:  # the reading side broke: drop the connection
                writer.transport.abort()
                return
            if not data:  # EOF: pass the half-close on
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    reading = asyncio.create_task(pump_in())
    try:
        await pump_out()
    finally:
        reading.cancel()


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def main():
    args = parse_args()
    up_host, _, up_port = args.upstream.rpartition(":")
    if not ipaddress.ip_address(up_host).is_loopback:
        sys.exit("latency-proxy: --upstream must be a loopback address")
    delay = args.delay_ms / 1000.0
    slots = asyncio.Semaphore(args.max_conns)
    loop = asyncio.get_running_loop()

    count = 0

    async def serve(c_reader, c_writer):
        nonlocal count
        accepted = loop.time()
        count += 1
        if args.count_file:
            write_atomically(args.count_file, f"{count}\n")
        if args.verbose:
            print(f"latency-proxy: connection {count} at {accepted:.3f}", file=sys.stderr, flush=True)
        async with slots:
            try:
                s_reader, s_writer = await asyncio.open_connection(up_host, int(up_port))
            except OSError:
                c_writer.transport.abort()
                return
            handshake = 0.0 if args.no_handshake else 3 * delay
            tasks = [
                asyncio.create_task(pipe(c_reader, s_writer, delay, accepted + handshake)),
                asyncio.create_task(pipe(s_reader, c_writer, delay, 0.0)),
            ]
            try:
                # Both directions end (EOF each way), or one breaks and takes the other down.
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for t in tasks:
                    if t.done() and not t.cancelled():
                        t.exception()  # a reset peer is an ordinary end here
                    t.cancel()
                for w in (c_writer, s_writer):
                    w.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", args.port, backlog=512)
    port = server.sockets[0].getsockname()[1]
    if args.count_file:
        write_atomically(args.count_file, "0\n")
    if args.port_file:
        write_atomically(args.port_file, f"{port}\n")

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(args.lifetime, stop.set)
    await stop.wait()
    server.close()  # asyncio.run then cancels the connections still open


if __name__ == "__main__":
    asyncio.run(main())
