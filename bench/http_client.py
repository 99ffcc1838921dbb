"""A minimal HTTP/1.1 keep-alive client on asyncio streams.

The load generator shares the 2-core machine with the API and PostgreSQL, so it must cost
little: raw requests on open connections, no client library. It still does what any client
does: it builds and encodes each request's JSON body when it sends it.
"""

from __future__ import annotations

import asyncio

import orjson

MAX_RETRIES = 5  # 503s one request may meet before the client gives up
MAX_RETRY_AFTER = 10.0  # seconds: the longest Retry-After the client will honour


class Connection:
    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.retry_after = 1.0  # the last answer's Retry-After, in seconds
        self.retries = 0  # 503s met and retried on this connection

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
            elif name.lower() == b"retry-after":
                self.retry_after = min(MAX_RETRY_AFTER, float(value))
        return status, await self._reader.readexactly(length)

    async def post_patiently(self, path: str, body: object) -> tuple[int, bytes]:
        """POST as a well-behaved client does: a 503 (the service busy) is retried after
        its Retry-After, at most MAX_RETRIES times. Postings carry their own ids, so a
        retry of one that did land is answered as a replay, never stored twice."""
        for _ in range(MAX_RETRIES):
            status, answer = await self.post(path, body)
            if status != 503:
                return status, answer
            self.retries += 1
            await asyncio.sleep(self.retry_after)
        return await self.post(path, body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
