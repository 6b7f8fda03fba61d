"""What keeps one visitor (or a script) from exhausting a public demo: per-client request budgets, one
heavy job per client in the fitting queue, and a size cap on the files Gradio keeps on disk.

A client is its address as the server sees it (uvicorn applies X-Forwarded-For only from the proxies in
FORWARDED_ALLOW_IPS); behind a proxy that puts the visitor in another header, name that header in
ARTZOO_CLIENT_HEADER. Everything here is in memory and bounded.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CLIENT_HEADER_ENV = "ARTZOO_CLIENT_HEADER"
MAX_CLIENTS = 10_000  # budgets remembered; the least recently seen are forgotten first


@dataclass(frozen=True)
class Budget:
    """A token bucket: ``burst`` units at once, ``per_s`` units a second after that."""
    burst: float
    per_s: float


# Route (end of the path, POST only) → budget. Uploads cost their bytes, other requests 1 each. A normal
# visit makes a few requests per action; these only bite a script.
BUDGETS = {
    "/upload": Budget(burst=100e6, per_s=200e3),            # 100 MB at once, then ~12 MB a minute
    "/component_server": Budget(burst=40, per_s=4),         # the editors' canvas uploads
    "/component_server/": Budget(burst=40, per_s=4),
    "/queue/join": Budget(burst=60, per_s=5),               # every action of the app
}
MAX_UPLOAD_BYTES = 20 * 2**20  # an upload without a length is charged this much


def client_key(scope: dict) -> str:
    header = os.environ.get(CLIENT_HEADER_ENV, "").lower().encode()
    if header:
        for name, value in scope.get("headers", []):
            if name == header:
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


class _Buckets:
    def __init__(self):
        self._levels: collections.OrderedDict[tuple[str, str], tuple[float, float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def take(self, route: str, client: str, cost: float, budget: Budget) -> bool:
        now = time.monotonic()
        with self._lock:
            level, then = self._levels.pop((route, client), (budget.burst, now))
            level = min(budget.burst, level + (now - then) * budget.per_s)
            ok = cost <= level
            self._levels[(route, client)] = (level - cost if ok else level, now)
            while len(self._levels) > MAX_CLIENTS:
                self._levels.popitem(last=False)
            return ok


class ClientLimits:
    """ASGI middleware: refuses (HTTP 429, nothing read) a client's POST to a budgeted route once its
    budget is spent. Installed through ``launch(app_kwargs={"middleware": ...})`` (`ui.launch_kwargs`)."""

    def __init__(self, app, budgets: dict[str, Budget] | None = None):
        self.app = app
        self.budgets = BUDGETS if budgets is None else budgets
        self.buckets = _Buckets()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST":
            route = next((r for r in self.budgets if scope["path"].endswith(r)), None)
            if route is not None and not self.buckets.take(route, client_key(scope), self._cost(scope, route),
                                                           self.budgets[route]):
                await _refuse(send, 429, "Too many requests from this address: wait a minute and try again.")
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _cost(scope: dict, route: str) -> float:
        if route != "/upload":
            return 1
        length = dict(scope.get("headers", [])).get(b"content-length")
        return int(length) if length and length.isdigit() else MAX_UPLOAD_BYTES


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message, "error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ---- the heavy queue: one job per client ----------------------------------------------------------------

def one_heavy_job_per_client(demo, concurrency_id: str, per_client: int = 1, on_join=None) -> None:
    """A client may have at most ``per_client`` events of ``concurrency_id`` waiting or running; more are
    refused at once with a message (each job's length is bounded by its sliders), so the queue serves
    clients in turn and one client cannot hold it for minutes. ``on_join()`` runs on every join (cheap
    housekeeping). Wraps the queue's join: Gradio has no per-client limit of its own."""
    queue = demo._queue
    push = queue.push

    async def fair_push(body, request, username):
        if on_join is not None:
            on_join()
        fn = demo.fns.get(body.fn_index) if body.fn_index is not None else None
        if fn is not None and fn.concurrency_id == concurrency_id and request is not None:
            me = client_key(request.scope)
            mine = sum(1 for event in list(queue.event_ids_to_events.values())
                       if event.concurrency_id == concurrency_id and event.request is not None
                       and client_key(event.request.scope) == me)
            if mine >= per_client:
                return (False, "You already have a fit, colour-hint or redraw job waiting or running: wait for "
                               "it to finish, then try again.", "error")
        return await push(body, request, username)

    queue.push = fair_push


# ---- disk: the files Gradio keeps ---------------------------------------------------------------------

class CacheCap:
    """Keeps the files a Blocks app wrote to Gradio's cache (its uploads and outputs, and only those)
    under ``cap_bytes``: when over, the oldest are deleted down to 80 % of it. Gradio's own
    ``delete_cache`` removes files by age only; this bounds the total whatever the rate of requests.
    ``maybe_sweep`` runs at most every ``every_s`` seconds, in a thread."""

    def __init__(self, demo, cap_bytes: int, every_s: float = 5.0, extra_roots: tuple[Path, ...] = ()):
        self.demo, self.cap, self.every_s, self.extra_roots = demo, cap_bytes, every_s, extra_roots
        self._last = 0.0
        self._lock = threading.Lock()

    def maybe_sweep(self) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s or not self._lock.acquire(blocking=False):
            return
        self._last = now
        threading.Thread(target=self._sweep_locked, daemon=True).start()

    def _sweep_locked(self) -> None:
        try:
            self.sweep()
        finally:
            self._lock.release()

    def files(self) -> list[tuple[float, int, str]]:
        """(age stamp, size, path) of every file this app wrote to the cache, and under the extra roots."""
        paths = {p for s in list(self.demo.temp_file_sets) for p in list(s)}
        for root in self.extra_roots:
            for folder, _, names in os.walk(root):
                paths.update(os.path.join(folder, n) for n in names)
        out = []
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((st.st_mtime, st.st_size, path))
        return out

    def sweep(self) -> int:
        """Delete the oldest files while over the cap; returns the bytes kept."""
        files = sorted(self.files())
        total = sum(size for _, size, _ in files)
        if total <= self.cap:
            return total
        keep = set(p for c in self.demo.blocks.values() for p in getattr(c, "keep_in_cache", ()))  # examples
        for _, size, path in files:
            if total <= 0.8 * self.cap:
                break
            if path in keep:
                continue
            try:
                os.remove(path)
                total -= size
            except OSError:
                pass
        return total
