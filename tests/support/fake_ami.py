"""A scriptable fake AMI peer, for faults a real Asterisk cannot be made to produce on demand:
garbage on the socket, a half-open link that stops answering, a drop in the middle of an action."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class FakeAmi:
    secret: str = "good"
    answer_pings: bool = True
    answer_originates: bool = True
    actions: list[dict[str, str]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    logins: int = 0
    port: int = 0
    _server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop_all()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def drop_all(self) -> None:
        for w in self.writers:
            w.close()
        self.writers.clear()

    def send_raw(self, data: bytes) -> None:
        for w in self.writers:
            w.write(data)

    def send_event(self, **headers: str) -> None:
        self.send_raw(("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        buf: dict[str, str] = {}
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                text = line.decode().rstrip("\r\n")
                if text:
                    k, _, v = text.partition(": ")
                    buf[k.lower()] = v
                    continue
                action, buf = buf, {}
                self.actions.append(action)
                name = action.get("action", "").lower()
                aid = action.get("actionid", "")
                if name == "login":
                    ok = action.get("secret") == self.secret
                    if ok:
                        self.logins += 1
                        writer.write(
                            f"Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n".encode()
                        )
                        writer.write(
                            b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
                        )
                    else:
                        writer.write(
                            f"Response: Error\r\nActionID: {aid}\r\nMessage: Authentication failed\r\n\r\n".encode()
                        )
                elif name == "ping":
                    if self.answer_pings:
                        writer.write(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode())
                elif name == "originate":
                    if self.answer_originates:
                        writer.write(
                            f"Response: Success\r\nActionID: {aid}\r\nMessage: Originate successfully queued\r\n\r\n".encode()
                        )
                else:
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.get("action", "").lower() == action.lower())
