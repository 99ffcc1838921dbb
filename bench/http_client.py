"""A minimal HTTP/1.1 keep-alive client on asyncio streams.

The load generator shares the 2-core machine with the API and PostgreSQL, so it must cost
little: raw requests on open connections, no client library. It still does what any client
does: it builds and encodes each request's JSON body when it sends it.
"""

from __future__ import annotations

import asyncio

import orjson


class Connection:
    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def post(self, path: str, body: object) -> tuple[int, bytes]:
        """POST `body`, encoded to JSON here, for this request; (status, answer).

        Bytes encoded earlier are refused: a user's client encodes each request's body, and
        the benchmarks count that work, as it shares the machine with the service.
        """
        if isinstance(body, bytes | bytearray | str):
            raise TypeError("post() takes the body as data and encodes it per request")
        assert self._reader is not None and self._writer is not None
        payload = orjson.dumps(body)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        self._writer.write(head + payload)
        status_line = await self._reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
