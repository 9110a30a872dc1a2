"""A loopback TCP proxy between the service and Asterisk's AMI, for the soak's link faults.

Asterisk never notices: its side of a link stays as it was while the proxy

- ``cut()``: drops every link at once (the service sees its socket closed);
- ``stall(seconds)``: freezes every link in both directions, then lets the held bytes through;
- ``half_open()``: freezes every link for good and keeps Asterisk's side open even after the service gives
  up on it, as a dead NAT entry or a pulled cable would. New links made afterwards work normally.
"""

from __future__ import annotations

import asyncio
import contextlib


class _Pair:
    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.half_open = False
        self.tasks: list[asyncio.Task[None]] = []

    def close(self) -> None:
        for w in (self.client, self.upstream):
            with contextlib.suppress(Exception):
                w.close()
        for t in self.tasks:
            t.cancel()


class AmiProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.up_host = upstream_host
        self.up_port = upstream_port
        self.port = 0
        self.pairs: set[_Pair] = set()
        self.links = 0  # links made so far
        self._server: asyncio.Server | None = None
        self._held: list[_Pair] = []  # half-open links kept until stop()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for p in list(self.pairs) + self._held:
            p.close()
        self.pairs.clear()
        self._held.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(self.up_host, self.up_port)
        except OSError:
            writer.close()
            return
        pair = _Pair(writer, up_w)
        self.pairs.add(pair)
        self.links += 1
        pair.tasks = [
            asyncio.create_task(self._pump(pair, reader, up_w, towards_asterisk=True)),
            asyncio.create_task(self._pump(pair, up_r, writer, towards_asterisk=False)),
        ]

    async def _pump(
        self, pair: _Pair, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, towards_asterisk: bool
    ) -> None:
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                await pair.flowing.wait()
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            # a half-open link: the service gave up, Asterisk's side stays open, unaware
            if not (pair.half_open and towards_asterisk) and pair in self.pairs:
                self.pairs.discard(pair)
                pair.close()

    def cut(self) -> int:
        n = len(self.pairs)
        for p in list(self.pairs):
            self.pairs.discard(p)
            p.close()
        return n

    async def stall(self, seconds: float) -> int:
        frozen = list(self.pairs)
        for p in frozen:
            p.flowing.clear()
        await asyncio.sleep(seconds)
        for p in frozen:
            p.flowing.set()
        return len(frozen)

    def half_open(self) -> int:
        """Freeze every current link for good; Asterisk's end stays open until ``stop()``."""
        frozen = list(self.pairs)
        for p in frozen:
            p.flowing.clear()
            p.half_open = True
            self.pairs.discard(p)
            self._held.append(p)  # the service's end may close; Asterisk's only by stop()
        return len(frozen)
