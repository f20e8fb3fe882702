"""A tiny TCP proxy in front of the Kafka broker, to take "Kafka" away from one process.

aiokafka only uses the bootstrap address for its first metadata request; afterwards it
connects to the address the broker advertises (127.0.0.1:9092). So the proxy listens on
another loopback address with the same port (127.0.0.2:9092) and rewrites the advertised
host in the broker's responses to its own, byte for byte (same length, so no Kafka frame
size changes). Every connection of the process then goes through the proxy, and
``down()`` cuts them all.
"""

from __future__ import annotations

import asyncio
import contextlib


class KafkaProxy:
    def __init__(self, listen_host: str, port: int, upstream_host: str) -> None:
        assert len(listen_host) == len(upstream_host)
        self.listen_host, self.port, self.upstream_host = listen_host, port, upstream_host
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"{self.listen_host}:{self.port}"

    async def up(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.listen_host, self.port, reuse_address=True
        )

    async def down(self) -> None:
        if self._server:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer, rewrite=False),
            self._pipe(up_reader, writer, rewrite=True),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, rewrite: bool
    ) -> None:
        old, new = self.upstream_host.encode(), self.listen_host.encode()
        try:
            while True:
                if not rewrite:
                    data = await reader.read(65536)
                    if not data:
                        break
                    writer.write(data)
                else:  # whole response frames: [int32 size][payload]
                    size = await reader.readexactly(4)
                    payload = await reader.readexactly(int.from_bytes(size, "big"))
                    writer.write(size + payload.replace(old, new))
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()
