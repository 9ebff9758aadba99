"""MLLP (HL7 v2's Minimal Lower Layer Protocol): each message framed as 0x0B … 0x1C 0x0D over
TCP. A client (the feed's sender: one connection, a message then its ACK, in turn) and a small
receiver, used by `carepath hl7 listen` and by the tests, that ACKs everything it is sent.

Only a message's type and control id are ever logged or printed, never its content."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from services.interop import hl7v2

log = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
ENCODING = "utf-8"
MAX_FRAME = 1 << 20  # 1 MiB: far above any ADT message of ours


class FramingError(ValueError):
    """The peer sent bytes that are not an MLLP frame."""


def frame(message: str) -> bytes:
    return START_BLOCK + message.encode(ENCODING) + END_BLOCK


async def read_frame(reader: asyncio.StreamReader) -> str:
    """The next framed message; IncompleteReadError when the peer closes first."""
    data = await reader.readuntil(END_BLOCK)
    start = data.find(START_BLOCK)
    if start < 0:
        raise FramingError("no MLLP start block")
    return data[start + 1:-len(END_BLOCK)].decode(ENCODING, errors="replace")


class Connection:
    """One persistent MLLP connection: send a message, read its ACK."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def send(self, message: str, timeout: float) -> str:
        """Send `message` and return the ACK's text. Any failure (refused, timeout, closed)
        closes the connection: the next send reconnects."""
        try:
            async with asyncio.timeout(timeout):
                if not self.open:
                    self._reader, self._writer = await asyncio.open_connection(
                        self.host, self.port, limit=MAX_FRAME)
                assert self._reader is not None and self._writer is not None
                self._writer.write(frame(message))
                await self._writer.drain()
                return await read_frame(self._reader)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def send(host: str, port: int, message: str, timeout: float) -> str:
    """Send one message on a connection of its own; the ACK's text."""
    connection = Connection(host, port)
    try:
        return await connection.send(message, timeout)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Received:
    trigger: str
    control_id: str
    client_ref: str
    ack_code: str


@dataclass
class Receiver:
    """An MLLP receiver that answers every message with an ACK (`ack`: AA, or AE/AR to refuse).
    `received` holds each message delivered, once per control id (MSH-10): a resend is
    acknowledged again but not delivered twice. `on_message` (e.g. the CLI's printer) sees
    every message answered, with the ACK code sent."""

    host: str = "127.0.0.1"
    port: int = 0
    ack: str = "AA"
    error: str = "refused by the receiver"
    on_message: Callable[[Received], None] | None = None
    received: list[str] = field(default_factory=list)
    answered: list[Received] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> Receiver:
        self._arrived = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=MAX_FRAME, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            # Python 3.11's wait_closed does not wait for (or close) open connections: close
            # them so a sender sees the receiver go away.
            for writer in list(self._writers):
                writer.close()
            await server.wait_closed()

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def wait_for(self, count: int, timeout: float) -> list[str]:
        """Wait until at least `count` distinct messages were delivered."""
        assert self._arrived is not None
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    message = await read_frame(reader)
                except (asyncio.IncompleteReadError, ConnectionError, FramingError,
                        asyncio.LimitOverrunError):
                    return
                await self._answer(message, writer)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, message: str, writer: asyncio.StreamWriter) -> None:
        trigger, control_id = hl7v2.message_type(message)
        code = self.ack
        writer.write(frame(hl7v2.ack_for(message, code=code,
                                         error=None if code == "AA" else self.error)))
        await writer.drain()
        seen = Received(trigger=trigger, control_id=control_id,
                        client_ref=hl7v2.patient_id(message), ack_code=code)
        self.answered.append(seen)
        log.info("hl7 %s %s acknowledged %s", trigger, control_id, code)
        if self.on_message is not None:
            self.on_message(seen)
        if code == "AA" and control_id not in self._seen:
            self._seen.add(control_id)
            self.received.append(message)
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
