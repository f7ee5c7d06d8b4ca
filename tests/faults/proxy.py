"""A small HTTP-aware TCP fault proxy between the browser and the server (toxiproxy's role).

No toxiproxy package exists for Debian or PyPI (only clients), so this is ~150 lines of asyncio
in a thread. It forwards bytes and knows where each HTTP/1.1 request starts (head +
Content-Length body; Chromium sends fetch bodies with a length), which is enough to strike one
request on a kept-alive connection:

- `cut_upload(n)`: the next photo upload is cut after `n` bytes of its body (both sides closed);
- `lose_response(prefix)`: the next request to `prefix` reaches the server in full, the server
  answers (so it committed), and the answer is thrown away: the browser sees the connection drop;
- `delay_ms`, `throttle_bps`: latency per chunk and a bandwidth cap, both directions.
`struck` counts the faults that actually hit a request (`cut_upload`, `lose_response:<prefix>`).
"""
import asyncio
import threading
from collections import Counter

CHUNK = 16 * 1024


class FaultProxy:
    def __init__(self, listen_port: int, target_port: int):
        self.listen_port, self.target_port = listen_port, target_port
        self.delay_ms = 0
        self.throttle_bps = 0
        self.struck: Counter = Counter()
        self._cut_next: int | None = None
        self._lose_next: list[str] = []
        self._lock = threading.Lock()
        self._writers: set = set()
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)

    # --- control (from the harness thread) ---

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(asyncio.start_server(
            self._handle, "127.0.0.1", self.listen_port), self._loop).result(10)

    def stop(self) -> None:
        async def close():
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def cut_upload(self, after_bytes: int) -> None:
        with self._lock:
            self._cut_next = after_bytes

    def lose_response(self, path_prefix: str) -> None:
        with self._lock:
            self._lose_next.append(path_prefix)

    def clear(self) -> None:
        with self._lock:
            self._cut_next, self._lose_next = None, []
        self.delay_ms = self.throttle_bps = 0

    def pending(self) -> bool:
        """True while an armed one-shot fault has not struck yet."""
        with self._lock:
            return self._cut_next is not None or bool(self._lose_next)

    def _take(self, method: str, path: str) -> tuple[int | None, str | None]:
        with self._lock:
            cut = None
            if self._cut_next is not None and method == "PUT" and path.startswith(
                    "/api/v1/photos/"):
                cut, self._cut_next = self._cut_next, None
            lose = next((p for p in self._lose_next if path.startswith(p)), None)
            if lose is not None and cut is None:
                self._lose_next.remove(lose)
            return cut, lose if cut is None else None

    # --- the proxy ---

    async def _pace(self, size: int) -> None:
        wait = self.delay_ms / 1000 + (size / self.throttle_bps if self.throttle_bps else 0)
        if wait:
            await asyncio.sleep(wait)

    async def _handle(self, client_r, client_w) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # the server is down: the browser sees a refused connection
            client_w.transport.abort()
            return
        state = {"lose": None, "closed": False}
        self._writers.update((client_w, server_w))

        def close_all():
            state["closed"] = True
            for w in (client_w, server_w):
                try:
                    w.transport.abort()
                except Exception:  # noqa: BLE001 - already gone
                    pass

        async def upstream():
            try:
                while not state["closed"]:
                    head = await client_r.readuntil(b"\r\n\r\n")
                    line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
                    method, path = line[0], line[1] if len(line) > 1 else ""
                    length = 0
                    for h in head.split(b"\r\n")[1:]:
                        if h.lower().startswith(b"content-length:"):
                            length = int(h.split(b":", 1)[1].strip() or 0)
                    cut, lose = self._take(method, path)
                    state["lose"] = lose
                    server_w.write(head)
                    sent = 0
                    while sent < length:
                        limit = length - sent if cut is None else min(length, cut) - sent
                        if limit <= 0:
                            self.struck["cut_upload"] += 1
                            await server_w.drain()
                            close_all()
                            return
                        data = await client_r.read(min(CHUNK, limit))
                        if not data:
                            close_all()
                            return
                        await self._pace(len(data))
                        server_w.write(data)
                        await server_w.drain()
                        sent += len(data)
                    await server_w.drain()
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                close_all()

        async def downstream():
            try:
                while not state["closed"]:
                    data = await server_r.read(CHUNK)
                    if not data:
                        close_all()
                        return
                    if state["lose"]:  # the server answered: it committed; drop the answer
                        self.struck[f"lose_response:{state['lose']}"] += 1
                        close_all()
                        return
                    await self._pace(len(data))
                    client_w.write(data)
                    await client_w.drain()
            except (ConnectionError, OSError):
                close_all()

        try:
            await asyncio.gather(upstream(), downstream())
        finally:
            self._writers.difference_update((client_w, server_w))
            for w in (client_w, server_w):
                w.close()
