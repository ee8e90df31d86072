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

With --refuse-scan or --request-log it reads the client's side as HTTP/1.1 (plain HTTP only),
request by request, for the folder-import and watch scenarios:
- --refuse-scan answers every `SCAN` request itself with `405 {"errors":[]}`, as HashiCorp Vault
  (which has no SCAN) does, one RTT after it was sent, and forwards everything else: OpenBao then
  looks like Vault to a client that tries SCAN first and lists level by level when refused.
- --request-log FILE appends one line per event: `TIME CONN conn` for a new connection,
  `TIME CONN req METHOD BYTES fwd|refused AREA` for a request (head and body; AREA is the path's
  first segment after /v1/: `sys`, `auth` or the mount), `TIME CONN down BYTES` for each chunk
  towards the client (the refusals included). TIME is time.monotonic(), CONN the connection's
  number. It holds sizes, methods and areas only, never a whole path, a header or a body.
Requests are assumed not to be pipelined (no HTTP client here pipelines); a request with a chunked
body or an oversized head ends the parsing of its connection, whose later bytes are forwarded (and
logged) as they come, as `up BYTES`.

Bounded: it serves at most --max-conns connections at once and exits by itself after --lifetime
seconds. It binds 127.0.0.1 only and forwards only to --upstream, which must be on loopback.
"""

import argparse
import asyncio
import ipaddress
import os
import signal
import sys
import time


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
    p.add_argument(
        "--refuse-scan", action="store_true", help="answer SCAN requests with 405 (plain HTTP only)"
    )
    p.add_argument("--request-log", help="append each connection, request and response chunk here")
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


# What --refuse-scan answers a SCAN with: what HashiCorp Vault answers a method it does not know.
REFUSAL_BODY = b'{"errors":[]}\n'
REFUSAL = (
    b"HTTP/1.1 405 Method Not Allowed\r\n"
    b"Cache-Control: no-store\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(REFUSAL_BODY)).encode() + b"\r\n\r\n" + REFUSAL_BODY
)
MAX_HEAD = 65536  # a request head longer than this ends the parsing of its connection


class RequestLog:
    """--request-log: event lines, buffered, written out every 50 ms (a reader waits that long)."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1 << 16)

    def event(self, conn, *fields):
        self.file.write(f"{time.monotonic():.6f} {conn} " + " ".join(map(str, fields)) + "\n")

    async def flush_often(self):
        while True:
            await asyncio.sleep(0.05)
            self.file.flush()


class Way:
    """One direction of a connection in HTTP mode: chunks queued with the time each is due at the
    far side. Two producers may feed the client's way: the server, and the refusals."""

    def __init__(self, writer, not_before):
        self.writer, self.not_before = writer, not_before
        self.queue = asyncio.Queue()

    def put(self, due, data):
        self.queue.put_nowait((due, data))

    async def pump_out(self):
        loop = asyncio.get_running_loop()
        while True:
            due, data = await self.queue.get()
            wait = max(due, self.not_before) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:  # the reading side broke: drop the connection
                self.writer.transport.abort()
                return
            if not data:  # EOF: pass the half-close on
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                return
            self.writer.write(data)
            await self.writer.drain()


async def pump_raw(reader, way, delay, log, conn, kind):
    """Queue what reader gives on `way`, `delay` later, logging each chunk as `kind`."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            way.put(loop.time() + delay, data)
            if not data:
                return
            if log:
                log.event(conn, kind, len(data))
    except (ConnectionError, OSError):
        way.put(loop.time(), None)


def request_head(head):
    """(method, area, body length) of a request head, or None when its body length is unknown
    here (chunked, or a Content-Length that is not a number). The area is the first segment of
    the path after /v1/ (`sys`, `auth`, or a mount such as `kv`): what the log may say of it."""
    lines = head.decode("latin-1").split("\r\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.partition(" ")[0]
    area = target[4:].split("/", 1)[0].split("?", 1)[0] if target.startswith("/v1/") else ""
    area = area if area and area.isprintable() and len(area) <= 64 else "-"
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "transfer-encoding" and value.lower() != "identity":
            return None
        if name == "content-length":
            if not value.isdigit():
                return None
            length = int(value)
    return method, area, length


async def pump_requests(reader, up, down, delay, refuse_scan, log, conn):
    """The client's side, request by request: forward each to the server `delay` later, or
    answer a SCAN with the refusal (when refuse_scan) one RTT later, as the server would."""
    loop = asyncio.get_running_loop()
    buf = b""
    while True:
        try:
            data = await reader.read(65536)
        except (ConnectionError, OSError):
            up.put(loop.time(), None)
            return
        now = loop.time()
        if not data:
            if buf:  # an unfinished request: pass it on as it is
                up.put(now + delay, buf)
            up.put(now + delay, b"")
            return
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            parsed = request_head(buf[:end]) if end >= 0 else None
            if parsed is None and (end >= 0 or len(buf) > MAX_HEAD):
                # Cannot tell where this request ends: forward the rest of the connection as is.
                up.put(now + delay, buf)
                if log:
                    log.event(conn, "up", len(buf))
                await pump_raw(reader, up, delay, log, conn, "up")
                return
            if parsed is None or len(buf) < end + 4 + parsed[2]:
                break  # wait for the rest of the request
            method, area, length = parsed
            request, buf = buf[: end + 4 + length], buf[end + 4 + length :]
            if refuse_scan and method == "SCAN":
                # The server's answer would leave it one way after the request arrived there.
                due = max(now + delay, up.not_before) + delay
                down.put(due, REFUSAL)
                if log:
                    log.event(conn, "req", method, len(request), "refused", area)
                    log.event(conn, "down", len(REFUSAL))
            else:
                up.put(now + delay, request)
                if log:
                    log.event(conn, "req", method, len(request), "fwd", area)


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def main():
    args = parse_args()
    up_host, _, up_port = args.upstream.rpartition(":")
    if not ipaddress.ip_address(up_host).is_loopback:
        sys.exit("latency-proxy: --upstream must be a loopback address")
    if args.delay_ms < 0:
        sys.exit("latency-proxy: --delay-ms must not be negative")
    delay = args.delay_ms / 1000.0
    slots = asyncio.Semaphore(args.max_conns)
    loop = asyncio.get_running_loop()

    count = 0
    log = RequestLog(args.request_log) if args.request_log else None
    http_mode = args.refuse_scan or log is not None
    flushing = asyncio.create_task(log.flush_often()) if log else None

    async def serve(c_reader, c_writer):
        nonlocal count
        accepted = loop.time()
        count += 1
        conn = count
        if args.count_file:
            write_atomically(args.count_file, f"{count}\n")
        if log:
            log.event(conn, "conn")
        if args.verbose:
            print(f"latency-proxy: connection {count} at {accepted:.3f}", file=sys.stderr, flush=True)
        async with slots:
            try:
                s_reader, s_writer = await asyncio.open_connection(up_host, int(up_port))
            except OSError:
                c_writer.transport.abort()
                return
            handshake = 0.0 if args.no_handshake else 3 * delay
            if http_mode:
                up, down = Way(s_writer, accepted + handshake), Way(c_writer, 0.0)
                readers = [
                    asyncio.create_task(
                        pump_requests(c_reader, up, down, delay, args.refuse_scan, log, conn)
                    ),
                    asyncio.create_task(pump_raw(s_reader, down, delay, log, conn, "down")),
                ]
                tasks = [asyncio.create_task(up.pump_out()), asyncio.create_task(down.pump_out())]
            else:
                readers = []
                tasks = [
                    asyncio.create_task(pipe(c_reader, s_writer, delay, accepted + handshake)),
                    asyncio.create_task(pipe(s_reader, c_writer, delay, 0.0)),
                ]
            try:
                # Both directions end (EOF each way), or one breaks and takes the other down.
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for t in tasks + readers:
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
    if log:
        flushing.cancel()
        log.file.flush()


if __name__ == "__main__":
    asyncio.run(main())
