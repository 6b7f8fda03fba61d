"""benchmarks/attack_app.py against a live `app.py` on loopback: blob posts from a hundred addresses and
sessions decomposing a 39.7 MP picture, while a normal client works. The default run is scaled down to
stay within a minute; the full one (1,000 posts, 50 sessions: ~2.5 min here) is marked slow."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("gradio")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import attack_app  # noqa: E402


def check(result: dict, sessions: int) -> None:
    assert result["rss_peak_mb"] < attack_app.RSS_LIMIT_MB, result
    assert result["disk_peak_mb"] < attack_app.DISK_LIMIT_MB, result
    assert not result["readable_by_others"], result  # visitors' files are private to the server's user
    assert set(result["blob_attack"]["status_codes"]) <= {200, 429}, result  # refused cleanly, never a 500
    assert result["decompose_attack"]["outcomes"].get("answered", 0) >= sessions - 1, result
    normal = result["normal_client"]
    assert normal["n_errors"] == 0 and normal["answers"] >= 4, result


def test_a_scaled_down_attack_leaves_memory_and_disk_bounded():
    check(attack_app.run(blob_posts=300, sessions=12), 12)


@pytest.mark.slow
def test_the_full_attack_leaves_memory_and_disk_bounded():
    check(attack_app.run(blob_posts=1000, sessions=50), 50)
