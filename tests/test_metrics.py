"""artzoo.metrics: Fréchet distance and KID against closed forms, the offline extractor's determinism and
its response to graded degradations of real images (fixture), Inception key round trip, input errors."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from artzoo.errors import ArtzooError
from artzoo.metrics import (
    FeatureStats,
    InceptionV3Features,
    RandomConvFeatures,
    default_extractor,
    diversity,
    feature_stats,
    fid,
    frechet_distance,
    kid,
)
from artzoo.metrics.degrade import DEGRADATIONS
from artzoo.metrics.extractors import hashed_uniform
from artzoo.metrics.inception import WEIGHTS_ENV

FIXTURE = Path(__file__).parent / "fixtures" / "metrics" / "fluent_emoji_test_8x8.png"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These small batches spend more time synchronising threads than computing (badly so on a busy
    machine): one thread is faster and keeps the file's run time steady."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def emoji() -> torch.Tensor:
    """64 real 64-px images (see tests/fixtures/metrics/README.md) in [-1, 1]."""
    grid = np.array(Image.open(FIXTURE).convert("RGB"))
    tiles = grid.reshape(8, 64, 8, 64, 3).transpose(0, 2, 4, 1, 3).reshape(64, 3, 64, 64)
    return torch.from_numpy(tiles.copy()).float() / 127.5 - 1


@pytest.fixture(scope="module")
def extractor() -> RandomConvFeatures:
    return default_extractor()


def whitened(n: int, d: int, seed: int) -> np.ndarray:
    """n samples whose sample mean is exactly 0 and sample covariance exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(0)
    return x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T


# --- Fréchet distance -------------------------------------------------------------------------------


@pytest.mark.parametrize("n, d", [(300, 20), (20, 64)])  # covariance route; sample (Gram) route
def test_fd_of_identical_sets_is_zero(n, d):
    x = np.random.default_rng(0).normal(size=(n, d))
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-8)
    assert frechet_distance(feature_stats(x), feature_stats(x)) == pytest.approx(0, abs=1e-6)


def test_fd_of_shifted_identity_gaussians_is_squared_shift():
    x = whitened(500, 8, seed=1)
    m = np.arange(8) / 4.0
    assert frechet_distance(x, x + m) == pytest.approx(m @ m, rel=1e-9)
    assert frechet_distance(torch.from_numpy(x), torch.from_numpy(x + m)) == pytest.approx(m @ m, rel=1e-9)


def test_fd_of_diagonal_gaussians_matches_closed_form():
    # N(m1, diag(a)) vs N(m2, diag(b)): |m1 - m2|² + sum (sqrt(a) - sqrt(b))².
    x = whitened(600, 5, seed=2)
    a, b = np.array([1.0, 4.0, 0.25, 9.0, 2.0]), np.array([4.0, 1.0, 0.25, 1.0, 0.5])
    m1, m2 = np.zeros(5), np.array([1.0, -2.0, 0.0, 0.5, 3.0])
    expected = (m1 - m2) @ (m1 - m2) + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(x * np.sqrt(a) + m1, x * np.sqrt(b) + m2) == pytest.approx(expected, rel=1e-9)
    stats_a = FeatureStats(m1, np.diag(a), 600)
    stats_b = FeatureStats(m2, np.diag(b), 600)
    assert frechet_distance(stats_a, stats_b) == pytest.approx(expected, rel=1e-12)


def test_fd_routes_agree_when_dims_exceed_samples():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, 100)), rng.normal(size=(45, 100)) * 1.5 + 0.3
    stats_a, stats_b = feature_stats(a), feature_stats(b)
    full = frechet_distance(stats_a, stats_b)  # via S_a^½ S_b S_a^½
    assert np.isfinite(full) and full > 0
    for x, y in [(a, b), (b, a), (a, stats_b), (stats_a, b)]:  # small factors instead of covariances
        assert frechet_distance(x, y) == pytest.approx(full, rel=1e-6)


def test_fd_rejects_bad_input():
    with pytest.raises(ArtzooError, match="dimensions differ"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ArtzooError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ArtzooError, match="NaN"):
        frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))
    with pytest.raises(ArtzooError, match="different extractors"):
        frechet_distance(feature_stats(np.eye(3), "x"), feature_stats(np.eye(3), "y"))


def test_feature_stats_save_load_round_trip(tmp_path):
    stats = feature_stats(np.random.default_rng(4).normal(size=(10, 6)), "some-extractor")
    stats.save(tmp_path / "s.safetensors")
    back = FeatureStats.load(tmp_path / "s.safetensors")
    assert back.count == 10 and back.extractor == "some-extractor"
    np.testing.assert_array_equal(back.mu, stats.mu)
    np.testing.assert_array_equal(back.sigma, stats.sigma)
    with pytest.raises(ArtzooError, match="not found"):
        FeatureStats.load(tmp_path / "missing.safetensors")


# --- KID --------------------------------------------------------------------------------------------


def test_kid_is_unbiased_for_one_distribution():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    mean, std = kid(a, b, subsets=50, subset_size=200)
    assert abs(mean) < std
    # Averaged over independent draws it is centred on 0 (a biased estimate would sit above 0).
    means = [kid(rng.normal(size=(100, 16)), rng.normal(size=(100, 16)), subsets=5)[0] for _ in range(40)]
    assert abs(np.mean(means)) < 2 * np.std(means) / np.sqrt(len(means))


def test_kid_of_equal_sets_is_near_zero_and_of_different_sets_positive():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(300, 16))
    same_mean, same_std = kid(a, a, subsets=20, subset_size=100)
    diff_mean, diff_std = kid(a, rng.normal(size=(300, 16)) + 0.5, subsets=20, subset_size=100)
    assert diff_mean > 5 * diff_std > 0
    # Subsets drawn twice from one pool share points, which pulls the estimate slightly below 0.
    assert -0.1 * diff_mean < same_mean <= same_std
    with pytest.raises(ArtzooError, match="subset_size"):
        kid(a, a, subset_size=301)


# --- offline extractor ------------------------------------------------------------------------------


def splitmix64_reference(seed: int, count: int) -> list[float]:
    """Textbook splitmix64 on Python integers (independent of the numpy implementation)."""
    mask, out = 2**64 - 1, []
    for i in range(1, count + 1):
        z = (seed * 0xD1B54A32D192ED03 + i * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append((z >> 11) * 2.0**-52 - 1.0)
    return out


def test_weights_are_bit_exact_constants():
    np.testing.assert_array_equal(hashed_uniform(7, 1000), splitmix64_reference(7, 1000))
    # Pinned so that a change of generator (and so of every FD number) cannot go unnoticed.
    assert hashed_uniform(0, 3).tolist() == [0.7666216164272852, -0.13694400590298006, -0.9471324568148045]
    values = hashed_uniform(0, 100_000)
    assert values.min() >= -1 and values.max() < 1 and abs(values.mean()) < 0.01


def test_extractor_is_deterministic(emoji, extractor):
    a = extractor.extract(emoji[:16])
    np.testing.assert_array_equal(a, extractor.extract(emoji[:16]))
    np.testing.assert_array_equal(a, default_extractor().extract(emoji[:16]))
    assert a.shape == (16, extractor.dim) and np.isfinite(a).all()
    assert not np.allclose(a, RandomConvFeatures(seed=1).extract(emoji[:16]))


def test_extractor_input_handling(emoji, extractor):
    grey = emoji[:8].mean(1, keepdim=True)
    np.testing.assert_allclose(extractor.extract(grey), extractor.extract(grey.repeat(1, 3, 1, 1)), rtol=1e-6)
    assert extractor.extract(torch.rand(3, 3, 50, 70) * 2 - 1).shape == (3, extractor.dim)  # any size
    batches = [emoji[:5], emoji[5:12]]
    np.testing.assert_allclose(extractor.extract(batches), extractor.extract(emoji[:12]), rtol=1e-5, atol=1e-6)
    for bad, match in [
        (emoji[:2] * 127.5 + 127.5, "lie in"),
        ((emoji[:2] * 127.5 + 127.5).to(torch.uint8), "float"),
        (emoji[0], "shape"),
        (torch.zeros(2, 4, 8, 8), "shape"),
        (emoji[:2].numpy(), "torch tensor"),
        (emoji[:2] * float("nan"), "NaN"),
    ]:
        with pytest.raises(ArtzooError, match=match):
            extractor.extract(bad)


def test_fd_rises_monotonically_with_degradation(emoji, extractor):
    reference = extractor.extract(emoji)
    for name, (degrade, strengths) in DEGRADATIONS.items():
        fds = [frechet_distance(extractor.extract(degrade(emoji, s)), reference) for s in strengths]
        assert fds[0] == pytest.approx(0, abs=1e-6), name
        assert all(b > a for a, b in zip(fds, fds[1:])), f"{name}: {fds}"


def test_fid_accepts_tensors_batches_and_stats(emoji, extractor, tmp_path):
    a, b = emoji[:32], emoji[32:]
    value = fid(a, b, extractor)
    assert value > 0
    assert fid([a[:10], a[10:]], b, extractor) == pytest.approx(value, rel=1e-5)
    feature_stats(extractor.extract(b), extractor.name).save(tmp_path / "ref.safetensors")
    assert fid(a, FeatureStats.load(tmp_path / "ref.safetensors"), extractor) == pytest.approx(value, rel=1e-5)
    with pytest.raises(ArtzooError, match="computed with"):
        fid(a, feature_stats(extractor.extract(b), "inception-v3-pool3-fid"), extractor)


def test_diversity_is_zero_under_mode_collapse(emoji, extractor):
    collapsed = emoji[:4].unsqueeze(1).expand(4, 3, 3, 64, 64)
    score = diversity(collapsed, extractor)
    assert score.pixel_l1 == 0 and score.feature_l1 == 0
    varied = diversity(emoji[:12].view(4, 3, 3, 64, 64), extractor)
    assert varied.pixel_l1 > 0.1 and varied.feature_l1 > 0
    assert diversity(emoji[:3], extractor).pixel_l1 > 0  # one input, (K, C, H, W)
    with pytest.raises(ArtzooError, match="K >= 2"):
        diversity(emoji[:1].unsqueeze(0), extractor)


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_degradations_keep_shape_and_range(emoji, name):
    degrade, strengths = DEGRADATIONS[name]
    assert torch.equal(degrade(emoji[:2], strengths[0]), emoji[:2])
    for images in (emoji[:2], emoji[:2, :1]):
        out = degrade(images, strengths[-1])
        assert out.shape == images.shape and out.min() >= -1 and out.max() <= 1


# --- Inception-v3 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory):
    """A randomly initialised FID Inception saved with torchvision key names (+ a 1008-class fc)."""
    torch.manual_seed(0)
    model = InceptionV3Features("fid")
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    state["fc.weight"] = torch.zeros(1008, 2048)
    state["fc.bias"] = torch.zeros(1008)
    path = tmp_path_factory.mktemp("inception") / "inception.safetensors"
    save_file(state, str(path))
    return model, path


def test_inception_architecture_and_key_names(random_inception):
    model, _ = random_inception
    # torchvision's inception_v3 has 27,161,264 parameters, of which fc (2,049,000) and AuxLogits
    # (3,326,696) are not used for pool3 features.
    assert sum(p.numel() for p in model.parameters()) == 21_785_568
    state = model.state_dict()
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_6b.branch7x7dbl_2.conv.weight"].shape == (128, 128, 7, 1)
    assert state["Mixed_7c.branch3x3dbl_3b.bn.running_var"].shape == (384,)


def test_inception_weights_round_trip(random_inception, monkeypatch):
    model, path = random_inception
    loaded = InceptionV3Features.from_file(path)
    assert loaded.variant == "fid" and loaded.name == "inception-v3-pool3-fid"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    feats = loaded.extract(torch.rand(1, 1, 40, 40) * 2 - 1)  # grey and small: repeated, resized to 299
    assert feats.shape == (1, 2048) and np.isfinite(feats).all()
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    assert InceptionV3Features.from_file().variant == "fid"


def test_inception_weight_file_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    with pytest.raises(ArtzooError, match=WEIGHTS_ENV):
        InceptionV3Features.from_file()
    with pytest.raises(ArtzooError, match="not found"):
        InceptionV3Features.from_file(tmp_path / "missing.safetensors")
    (tmp_path / "junk.pth").write_bytes(b"\x80\x02not safetensors at all")
    with pytest.raises(ArtzooError, match="not a safetensors file"):
        InceptionV3Features.from_file(tmp_path / "junk.pth")
    save_file({"encoder.weight": torch.zeros(2, 2), "fc.weight": torch.zeros(1000, 2048)}, str(tmp_path / "vgg.st"))
    with pytest.raises(ArtzooError, match="torchvision key names"):
        InceptionV3Features.from_file(tmp_path / "vgg.st")
    save_file({"encoder.weight": torch.zeros(2, 2)}, str(tmp_path / "nofc.st"))
    with pytest.raises(ArtzooError, match="variant"):
        InceptionV3Features.from_file(tmp_path / "nofc.st")
