"""An attack on the app, on loopback only, that stops by itself: what the server's memory and disk do,
and whether a normal visitor still gets answers meanwhile.

    python benchmarks/attack_app.py                        # 1,000 blob posts, 50 large decompose sessions
    python benchmarks/attack_app.py --blob-posts 200 --sessions 10 --json out.json

It starts `app.py` in a child process (tiny random 32 px pipeline unless --checkpoints is given, its own
TMPDIR so its disk use can be measured), then, while a normal client generates and decomposes in a loop:
  1. posts canvas parts to the editors' blob route (/gradio_api/component_server): a 12-byte file with a
     layer index of 10^8, 100 MP PNG header bombs, 2 MB parts, each from one of 100 addresses (a
     distributed attacker: X-Forwarded-For, trusted from loopback only) and a fresh session;
  2. runs decompose sessions on a 39.7 MP PNG (70 kB on disk), each a new session and address.
Prints (or writes as JSON) the server's peak and final RSS, its disk use, and the normal client's answers.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from PIL import Image, ImageDraw  # noqa: E402

RSS_LIMIT_MB = 1500
DISK_LIMIT_MB = 600     # the app's cache cap (ui.CACHE_CAP_BYTES, 512 MB) plus what one sweep interval adds


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def disk_mb(root: Path) -> float:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total / 2**20


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def large_artwork(path: Path) -> Path:
    """39.7 MP (7000×5670) that compresses to ~70 kB: a cheap upload that is expensive to keep whole."""
    im = Image.new("RGB", (7000, 5670), "white")
    d = ImageDraw.Draw(im)
    d.ellipse((1000, 1000, 6000, 4600), fill=(240, 180, 40), outline=0, width=20)
    d.rectangle((2500, 2000, 4500, 3500), fill=(200, 60, 60))
    im.save(path)
    return path


class Server:
    def __init__(self, checkpoints: Path, tmp: Path):
        from app_fixtures import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.tmp = tmp / "server-tmp"
        self.tmp.mkdir()
        env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port),
               "ARTZOO_CHECKPOINTS": str(checkpoints), "TMPDIR": str(self.tmp), "OMP_NUM_THREADS": "1"}
        env.pop("GRADIO_TEMP_DIR", None)  # app.py makes its own, under TMPDIR: measured with the rest
        self.log = open(tmp / "server.log", "w")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        started = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited: {(tmp / 'server.log').read_text()[-2000:]}")
            if time.monotonic() - started > 120:
                raise RuntimeError("app.py did not answer within 120 s")
            try:
                urllib.request.urlopen(self.url, timeout=5).read()
                break
            except OSError:
                time.sleep(0.25)
        self.start_s = time.monotonic() - started

    def editor_ids(self) -> list[int]:
        config = json.loads(urllib.request.urlopen(self.url + "config", timeout=30).read())
        return [c["id"] for c in config["components"] if c["type"] == "imageeditor"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Monitor(threading.Thread):
    """Samples the server's RSS (and its disk use, less often) until stopped."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.stop, self.peak_rss, self.peak_disk = server, threading.Event(), 0.0, 0.0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            self.peak_rss = max(self.peak_rss, rss_mb(self.server.proc.pid))
            if n % 10 == 0:
                self.peak_disk = max(self.peak_disk, disk_mb(self.server.tmp))
            n += 1
            time.sleep(0.1)


class NormalClient(threading.Thread):
    """A visitor generating from a sketch and decomposing a picture, over and over, until stopped."""

    def __init__(self, url: str, pipeline: str, files: Path):
        super().__init__(daemon=True)
        self.url, self.pipeline, self.files = url, pipeline, files
        self.stop, self.answers, self.errors, self.latencies = threading.Event(), 0, [], []

    def run(self) -> None:
        from gradio_client import Client, handle_file

        client = Client(self.url, verbose=False, headers={"X-Forwarded-For": "192.0.2.1"})
        sketch = {"background": handle_file(str(self.files / "sketch.png")), "layers": [], "composite": None}
        while not self.stop.is_set():
            for call in (lambda: client.predict(self.pipeline, sketch, 2, 0, api_name="/generate"),
                         lambda: client.predict(self.pipeline, handle_file(str(self.files / "art.png")),
                                                api_name="/decompose")):
                started = time.monotonic()
                try:
                    call()
                    self.answers += 1
                    self.latencies.append(time.monotonic() - started)
                except Exception as e:  # noqa: BLE001  (counted and reported: the point of the measurement)
                    self.errors.append(f"{type(e).__name__}: {str(e)[:120]}")
                if self.stop.is_set():
                    break


def blob_attack(server: Server, posts: int) -> dict:
    import httpx

    editors = server.editor_ids()
    bomb = png(Image.new("1", (10_000, 10_000), 1))
    noise = png(Image.frombytes("RGB", (840, 840), os.urandom(840 * 840 * 3)))  # a 2 MB PNG that is an image
    kinds = [("layer", "100000000", b"x" * 12), ("composite", "null", bomb), ("background", "null", noise),
             ("layer", "0", noise), ("background", "null", os.urandom(2 * 2**20))]
    codes: dict[int, int] = {}

    def post(i: int) -> int:
        kind, index, data = kinds[i % len(kinds)]
        with httpx.Client(timeout=60) as http:
            return http.post(server.url + "gradio_api/component_server",
                             files={"file": ("blob", data, "image/png")},
                             data={"id": uuid.uuid4().hex, "type": kind, "index": index, "fn_name": "accept_blobs",
                                   "component_id": str(editors[i % len(editors)]), "session_hash": uuid.uuid4().hex},
                             headers={"X-Forwarded-For": f"198.18.0.{i % 100}"}).status_code

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for code in pool.map(post, range(posts)):
            codes[code] = codes.get(code, 0) + 1
    return {"posts": posts, "seconds": round(time.monotonic() - started, 1), "status_codes": codes}


def decompose_attack(server: Server, pipeline: str, artwork: Path, sessions: int) -> dict:
    from gradio_client import Client, handle_file

    outcomes: dict[str, int] = {}

    def session(i: int) -> str:
        client = Client(server.url, verbose=False, headers={"X-Forwarded-For": f"198.19.0.{i}"})
        try:
            client.predict(pipeline, handle_file(str(artwork)), api_name="/decompose")
            return "answered"
        except Exception as e:  # noqa: BLE001
            return f"{type(e).__name__}: {str(e)[:80]}"

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for outcome in pool.map(session, range(sessions)):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"sessions": sessions, "seconds": round(time.monotonic() - started, 1), "outcomes": outcomes}


def readable_by_others(root: Path, public: set[str]) -> list[str]:
    """Files and folders under ``root`` that another local user could read or enter, except Gradio's
    copies of the (public) example pictures, named in ``public``."""
    found = []
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            if os.lstat(path).st_mode & 0o077 and name not in public:
                found.append(os.path.relpath(path, root))
    return found


def run(blob_posts: int = 1000, sessions: int = 50, checkpoints: Path | None = None, pipeline: str = "tiny") -> dict:
    from app_fixtures import artwork_image, make_checkpoints, sketch_image

    tmp = Path(tempfile.mkdtemp(prefix="artzoo-attack-"))
    try:
        if checkpoints is None:
            checkpoints = make_checkpoints(tmp / "checkpoints")
        sketch_image().save(tmp / "sketch.png")
        artwork_image().save(tmp / "art.png")
        artwork = large_artwork(tmp / "large.png")
        server = Server(checkpoints, tmp)
        try:
            baseline = rss_mb(server.proc.pid)
            monitor, normal = Monitor(server), NormalClient(server.url, pipeline, tmp)
            monitor.start()
            normal.start()
            blobs = blob_attack(server, blob_posts)
            decomposes = decompose_attack(server, pipeline, artwork, sessions)
            # The visitor's calls are counted, not timed: on a fast machine the attacks can end before it
            # made a few, so it gets up to two minutes more to make 4 (answered or failed).
            deadline = time.monotonic() + 120
            while normal.answers + len(normal.errors) < 4 and normal.is_alive() and time.monotonic() < deadline:
                time.sleep(0.5)
            normal.stop.set()
            normal.join(120)
            monitor.stop.set()
            monitor.join()
            result = {
                "server_start_s": round(server.start_s, 1), "rss_baseline_mb": round(baseline),
                "rss_peak_mb": round(monitor.peak_rss), "rss_final_mb": round(rss_mb(server.proc.pid)),
                "disk_peak_mb": round(monitor.peak_disk, 1), "disk_final_mb": round(disk_mb(server.tmp), 1),
                "readable_by_others": readable_by_others(
                    server.tmp, {p.name for p in checkpoints.glob("*/examples/*/*")})[:5],
                "blob_attack": blobs, "decompose_attack": decomposes,
                "normal_client": {"answers": normal.answers, "errors": normal.errors[:5], "n_errors": len(normal.errors),
                                  "worst_latency_s": round(max(normal.latencies, default=0), 2)},
                "limits": {"rss_mb": RSS_LIMIT_MB, "disk_mb": DISK_LIMIT_MB},
            }
        finally:
            server.close()
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blob-posts", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--checkpoints", type=Path, help="a checkpoints folder (default: a tiny random pipeline)")
    parser.add_argument("--pipeline", default="tiny", help="the pipeline's name in that folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    result = run(args.blob_posts, args.sessions, args.checkpoints, args.pipeline)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
