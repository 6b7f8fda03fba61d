"""Training phases, checkpoints/resume and export on a tiny synthetic dataset (tiny preset, 32 px)."""

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artzoo import WorkflowPipeline
from artzoo.errors import ArtzooError
from artzoo.training import export_pipeline, load_config, train_phase
from artzoo.training.checkpoint import latest_checkpoint
from artzoo.training.loop import build_pipeline, open_dataset
from artzoo.evaluation import METRICS_MARKER

REPO = Path(__file__).resolve().parents[1]
SIZE = 32


def write_dataset(root: Path, n_train: int = 6, n_test: int = 2, size: int = SIZE) -> None:
    """The on-disk layout of artzoo.data: a dark shape outline, flat colours, a shaded version."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for stage in ("sketch", "flat", "detail"):
            (root / split / stage).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            y0, x0 = rng.integers(2, 12, 2) * size // SIZE
            y1, x1 = rng.integers(20, 30, 2) * size // SIZE
            colour = rng.integers(0, 255, 3)
            sketch = np.full((size, size), 255, np.uint8)
            sketch[y0:y1, [x0, x1]] = 0
            sketch[[y0, y1], x0:x1] = 0
            flat = np.full((size, size, 3), 255, np.uint8)
            flat[y0:y1, x0:x1] = colour
            shade = np.linspace(0.6, 1.0, size)[:, None, None]
            detail = np.where(flat < 255, flat * shade, flat).astype(np.uint8)
            Image.fromarray(sketch).save(root / split / "sketch" / f"{i:03d}.png")
            Image.fromarray(flat).save(root / split / "flat" / f"{i:03d}.png")
            Image.fromarray(detail).save(root / split / "detail" / f"{i:03d}.png")
    meta = {"recipe": "synthetic", "size": size, "stages": ["sketch", "flat", "detail"], "channels": [1, 3, 3],
            "complete": True}
    (root / "meta.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    write_dataset(tmp / "data")
    path = tmp / "synthetic.toml"
    path.write_text(f"""
base = "{REPO / 'train/configs/base.toml'}"
[data]
root = "{tmp / 'data'}"
[model]
preset = "tiny"
image_size = {SIZE}
[train]
sample_every = 2
checkpoint_every = 1
sample_rows = 2
sample_z = 2
[inference]
batch_size = 2
steps_separate = 2
steps_joint = 1
[generation]
batch_size = 4
steps_separate = 2
steps_joint = 1
[regularizer]
batch_size = 2
outer_steps = 2
inner_steps = 2
[prior]
batch_size = 4
steps = 3
bank_size = 8
neighbours = 3
[export]
dataset = "synthetic boxes"
render = ["sketch", "regions", "continuous"]
""")
    return path


@pytest.fixture(scope="module")
def cfg(config_path) -> dict:
    return load_config(config_path)


@pytest.fixture(scope="module")
def trained_run(cfg, tmp_path_factory) -> Path:
    """All three phases in one run folder."""
    run = tmp_path_factory.mktemp("run") / "run"
    for phase in ("inference", "generation", "regularizer"):
        assert train_phase(cfg, phase, run) == 0
    return run


def log_records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_config_presets_and_overrides():
    cfg = load_config(REPO / "train/configs/fluent-emoji.toml", "cpu", ["generation.steps_joint=7", "model.nz=4"])
    assert cfg["generation"]["steps_joint"] == 7 and cfg["model"]["nz"] == 4
    assert cfg["generation"]["l1_weight"] == 10.0  # from base.toml
    assert load_config(REPO / "train/configs/fluent-emoji.toml", "gpu")["model"]["image_size"] >= 128
    with pytest.raises(ArtzooError):
        load_config(REPO / "train/configs/fluent-emoji.toml", "tpu")


def test_phases_log_finite_losses_and_samples(trained_run):
    records = [r for r in log_records(trained_run) if "event" not in r]
    steps = {p: max(r["step"] for r in records if r["phase"] == p) for p in ("inference", "generation", "regularizer")}
    assert steps == {"inference": 3, "generation": 3, "regularizer": 2}
    for r in records:
        losses = [v for k, v in r.items() if "/" in k]
        assert losses and all(np.isfinite(losses)), r
    assert {"G0/l1", "G1/kl", "G0/latent", "G1/cycle", "G0/ms", "G0/d_rand"} <= set(records[-3])
    assert sorted(p.name for p in (trained_run / "samples").glob("*.png"))[-1] == "regularizer-0000002.png"


def test_each_step_logs_the_training_time_left(trained_run):
    """A run says when it will end: steps left × this command's pace, down to 0 at the phase's last step."""
    for phase, total in (("inference", 3), ("generation", 3), ("regularizer", 2)):
        records = [r for r in log_records(trained_run) if r.get("phase") == phase and "event" not in r]
        left = [r["left_s"] for r in records]
        assert left[-1] == 0 and all(a >= 0 for a in left)
        assert left[0] == pytest.approx((total - 1) * records[0]["dt"], rel=0.01, abs=0.1)


def test_regularizer_changes_w_and_keeps_it_positive(cfg, trained_run):
    before = WorkflowPipeline.from_pretrained(trained_run / "checkpoints/generation-final/pipeline")
    after = WorkflowPipeline.from_pretrained(trained_run / "checkpoints/regularizer-final/pipeline")
    for t0, t1 in zip(before.transitions, after.transitions):
        w0, w1 = t0.regularizer(), t1.regularizer()
        assert not torch.equal(w0, w1)
        assert (w1 > 0).all()
        # Only θ moves in this phase.
        for a, b in zip(t0.generator.parameters(), t1.generator.parameters()):
            assert torch.equal(a, b)


def test_export_loads(cfg, trained_run, tmp_path):
    out = export_pipeline(cfg, trained_run, tmp_path / "pipe")
    pipe = WorkflowPipeline.from_pretrained(out)
    assert pipe.stages == ["sketch", "flat", "detail"] and pipe.image_size == SIZE
    assert all(t.regularizer is not None and not t.discriminators for t in pipe.transitions)
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: mit") and METRICS_MARKER in card and "| 1 | generation | 3 |" in card
    assert (out / "samples.png").is_file()
    # Generation by stages: sketch | flat candidates | detail candidates, per held-out row.
    stages = np.asarray(Image.open(out / "stages.png"))
    cell = SIZE + 2
    assert stages.shape == (cfg["train"]["sample_rows"] * cell + 2, (1 + 2 * cfg["train"]["sample_z"]) * cell + 2, 3)
    flat_1, flat_2 = (stages[2:2 + SIZE, 2 + c * cell:2 + c * cell + SIZE] for c in (1, 2))
    assert not np.array_equal(flat_1, flat_2)  # candidates use different z
    # Held-out examples for the app, aligned across stages.
    examples = {stage: sorted(p.name for p in (out / "examples" / stage).glob("*.png")) for stage in pipe.stages}
    assert examples["sketch"] and examples["sketch"] == examples["flat"] == examples["detail"]
    sketch = Image.open(Path(cfg["data"]["root"]) / "test/sketch/000.png")
    assert pipe.generate(sketch, seed=0).final.size == (SIZE, SIZE)
    # Before the regulariser phase there is nothing learned to publish: no θ in the folder.
    early = WorkflowPipeline.from_pretrained(export_pipeline(cfg, trained_run, tmp_path / "early", from_phase="generation"))
    assert all(t.regularizer is None for t in early.transitions)


def test_export_adds_canvas_size_examples(cfg, trained_run, tmp_path):
    big = tmp_path / "data-64"
    write_dataset(big, n_train=1, n_test=3, size=2 * SIZE)
    out = export_pipeline(copy.deepcopy(cfg) | {"export": cfg["export"] | {"canvas_examples": str(big)}},
                          trained_run, tmp_path / "pipe")
    for stage in ("sketch", "flat", "detail"):
        sizes = [Image.open(p).size for p in (out / "examples" / stage).glob("*.png")]
        assert sizes.count((2 * SIZE, 2 * SIZE)) == 3
    with pytest.raises(ArtzooError, match="not built; build it first"):
        export_pipeline(copy.deepcopy(cfg) | {"export": cfg["export"] | {"canvas_examples": str(tmp_path / "none")}},
                        trained_run, tmp_path / "pipe2")


def test_init_from_warm_starts(cfg, trained_run, tmp_path):
    published = export_pipeline(cfg, trained_run, tmp_path / "pub", full_precision=True)
    run = tmp_path / "warm"
    cfg = {**cfg, "generation": {**cfg["generation"], "steps_separate": 0, "steps_joint": 0}}
    assert train_phase(cfg, "generation", run, init_from=str(published)) == 0
    warm = WorkflowPipeline.from_pretrained(latest_checkpoint(run) / "pipeline")
    src = WorkflowPipeline.from_pretrained(published)
    assert torch.equal(warm.transitions[1].generator.head.weight, src.transitions[1].generator.head.weight)
    # Further training, exported: the card and the index count both runs.
    cfg["generation"]["steps_joint"] = 2
    assert train_phase(cfg, "generation", tmp_path / "warm2", init_from=str(published)) == 0
    out = export_pipeline(cfg, tmp_path / "warm2", tmp_path / "pub2")
    info = WorkflowPipeline.from_pretrained(out).info
    assert [run["from"] for run in info["training"]] == [None, str(published)]
    assert info["steps"]["generation"] == src.info["steps"]["generation"] + 2
    card = (out / "README.md").read_text()
    assert f"| 2 (warm start from `{published}`) | generation | 2 |" in card and "| 1 | inference |" in card
    # The history records the batch the steps ran at, not the exporting command's (a --set at training time).
    assert info["training"][1]["phases"]["generation"]["batch_size"] == cfg["generation"]["batch_size"]
    other = copy.deepcopy(cfg)
    other["generation"]["batch_size"] += 2
    again = WorkflowPipeline.from_pretrained(export_pipeline(other, tmp_path / "warm2", tmp_path / "pub3")).info
    assert again["training"][1]["phases"]["generation"]["batch_size"] == cfg["generation"]["batch_size"]
    # A warm start from a run's checkpoint (a snapshot copied out, not an export) keeps that run too.
    snapshot = shutil.copytree(latest_checkpoint(tmp_path / "warm2") / "pipeline", tmp_path / "snapshot")
    cfg["generation"]["steps_joint"] = 1
    assert train_phase(cfg, "generation", tmp_path / "warm3", init_from=str(snapshot)) == 0
    info = WorkflowPipeline.from_pretrained(export_pipeline(cfg, tmp_path / "warm3", tmp_path / "pub4")).info
    assert [run["from"] for run in info["training"]] == [None, str(published), str(snapshot)]
    assert info["steps"]["generation"] == src.info["steps"]["generation"] + 2 + 1


def test_init_fresh_retrains_named_components_from_scratch(cfg, trained_run, tmp_path):
    published = export_pipeline(cfg, trained_run, tmp_path / "pub", full_precision=True)
    ds = open_dataset(cfg, "train")
    fresh_cfg = copy.deepcopy(cfg)
    fresh_cfg["train"]["init_fresh"] = ["generator_1", "latent_encoder_1"]
    warm = build_pipeline(fresh_cfg, list(ds.stages), list(ds.channels), init_from=str(published))
    scratch = build_pipeline(cfg, list(ds.stages), list(ds.channels))
    src = WorkflowPipeline.from_pretrained(published)
    for name, module in warm.transitions[1].generator.state_dict().items():
        assert torch.equal(module, scratch.transitions[1].generator.state_dict()[name])
    w, s = warm.transitions[1].latent_encoder.state_dict(), scratch.transitions[1].latent_encoder.state_dict()
    assert all(torch.equal(w[k], s[k]) for k in w)
    # Everything not named is the source's.
    assert torch.equal(warm.transitions[0].generator.head.weight, src.transitions[0].generator.head.weight)
    w, s = warm.transitions[1].inference.state_dict(), src.transitions[1].inference.state_dict()
    assert all(torch.equal(w[k], s[k]) for k in w)
    # A run started so records it, and its export's card says which parts started afresh.
    run_cfg = copy.deepcopy(fresh_cfg)
    run_cfg["generation"] |= {"steps_separate": 0, "steps_joint": 1}
    assert train_phase(run_cfg, "generation", tmp_path / "fresh", init_from=str(published)) == 0
    out = export_pipeline(run_cfg, tmp_path / "fresh", tmp_path / "pub-fresh")
    assert WorkflowPipeline.from_pretrained(out).info["training"][-1]["fresh"] == ["generator_1", "latent_encoder_1"]
    assert f"(warm start from `{published}`; generator_1, latent_encoder_1 from scratch) | generation |" in \
        (out / "README.md").read_text()
    fresh_cfg["train"]["init_fresh"] = ["generator_7"]
    with pytest.raises(ArtzooError, match=r"train.init_fresh names \['generator_7'\]"):
        build_pipeline(fresh_cfg, list(ds.stages), list(ds.channels), init_from=str(published))


def test_init_from_extends_plain_generators_with_an_identity_decoder_modulation(cfg, trained_run, tmp_path):
    published = export_pipeline(cfg, trained_run, tmp_path / "pub", full_precision=True)
    ds = open_dataset(cfg, "train")
    mod_cfg = copy.deepcopy(cfg)
    mod_cfg["model"]["overrides"] = {"generator": {"modulated_decoder": True}}
    warm = build_pipeline(mod_cfg, list(ds.stages), list(ds.channels), init_from=str(published))
    src = WorkflowPipeline.from_pretrained(published)
    x, z = torch.rand(2, 1, SIZE, SIZE) * 2 - 1, torch.randn(2, src.transitions[0].generator.config.nz)
    g_warm, g_src = warm.transitions[0].generator.eval(), src.transitions[0].generator.eval()
    assert g_warm.num_adain_params > g_src.num_adain_params
    with torch.no_grad():
        torch.testing.assert_close(g_warm(x, z=z), g_src(x, z=z))  # the modulation starts as the identity
    # The regulariser's θ no longer fits the longer AdaIN vector: it starts fresh, sized to it.
    assert warm.transitions[0].regularizer.config.num_params == g_warm.num_adain_params


def test_prior_phase_learns_p_z_given_x_and_fills_its_bank(cfg, trained_run, tmp_path):
    """The prior phase (after the others), warm-started from a published pipeline of the same data: only
    the priors move, the export carries them and keeps the source's learned regulariser."""
    published = export_pipeline(cfg, trained_run, tmp_path / "pub", full_precision=True)
    assert all(t.prior is None for t in WorkflowPipeline.from_pretrained(published).transitions)
    run = tmp_path / "prior"
    assert train_phase(cfg, "prior", run, init_from=str(published)) == 0
    records = [r for r in log_records(run) if r.get("phase") == "prior" and "event" not in r]
    assert len(records) == 3 and all(np.isfinite([r["P0/nll"], r["P1/nll"]]).all() for r in records)
    out = export_pipeline(cfg, run, tmp_path / "with-prior")
    pipe = WorkflowPipeline.from_pretrained(out)
    src = WorkflowPipeline.from_pretrained(published)
    assert pipe.render_kinds == ["sketch", "regions", "continuous"]
    for t, s in zip(pipe.transitions, src.transitions):
        assert t.prior is not None and t.prior.bank_filled == 6 and t.prior.has_keys  # the 6 training codes
        # Exported in fp16: the source's weights rounded, no more.
        assert t.regularizer is not None and torch.equal(t.regularizer.theta, s.regularizer.theta.half().float())
        assert torch.equal(t.generator.head.weight, s.generator.head.weight.half().float())
    sketch = Image.open(Path(cfg["data"]["root"]) / "test/sketch/000.png")
    learned = pipe.sample_z(5, 4, 0, prior="learned", condition=sketch)
    assert learned.shape == (4, 8) and torch.equal(learned, pipe.sample_z(5, 4, 0, prior="learned", condition=sketch))
    assert not torch.equal(learned, pipe.sample_z(5, 4, 0, prior="normal"))
    banked = pipe.sample_z(1, 3, 1, prior="bank")
    assert all(any(torch.allclose(z, b) for b in pipe.transitions[1].prior.bank) for z in banked)
    # "nearest" (the default with a condition): codes of the 3 training drawings whose keys are most like
    # this one's, each once; the keys are the trained head's, of the bank's own pictures.
    prior = pipe.transitions[0].prior
    nearest = pipe.sample_z(5, 3, 0, condition=sketch)
    assert torch.equal(nearest, pipe.sample_z(5, 3, 0, prior="nearest", condition=sketch))
    with torch.no_grad():
        key = prior.key(pipe.transitions[0].generator.encode_content(pipe.load_image(sketch, 0)[0])[0])
    top = (key @ prior.keys[:6].float().T)[0].topk(3).indices
    assert sorted(int(next(j for j in range(6) if torch.equal(z, prior.bank[j]))) for z in nearest) == sorted(top.tolist())
    ds = open_dataset(cfg, "train")
    with torch.no_grad():
        first = torch.stack([ds[j][0] for j in range(6)])
        keys = prior.key(pipe.transitions[0].generator.encode_content(first)[0])
    cosine = (keys * prior.keys[:6].float()).sum(1)
    assert (cosine > 0.9).all()  # the same drawings (the run's float32 weights, and random flips in training)
    # A later run warm-started from it (e.g. to retrain the regulariser) keeps its prior and its w's
    # calibrated scale (a config value, not a weight).
    pipe.transitions[0].regularizer.restart(3e-6)
    pipe.save_pretrained(tmp_path / "calibrated")
    warm = build_pipeline(cfg, list(ds.stages), list(ds.channels), init_from=str(tmp_path / "calibrated"))
    for t, s in zip(warm.transitions, pipe.transitions):
        assert torch.equal(t.prior.bank, s.prior.bank) and t.regularizer.config == s.regularizer.config
        assert torch.equal(t.regularizer(), s.regularizer())


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    pipe = WorkflowPipeline.from_pretrained(run / "checkpoints/generation-final/pipeline")
    return pipe.state_dict()


def test_resume_gives_the_same_weights(cfg, tmp_path):
    assert train_phase(cfg, "generation", tmp_path / "straight") == 0
    assert train_phase(cfg, "generation", tmp_path / "stopped", stop_after=2) == -1
    with pytest.raises(ArtzooError, match="--resume"):
        train_phase(cfg, "generation", tmp_path / "stopped")
    assert train_phase(cfg, "generation", tmp_path / "stopped", resume=True) == 0
    a, b = final_weights(tmp_path / "straight"), final_weights(tmp_path / "stopped")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_generation_ends_on_its_best_held_out_snapshot(cfg, tmp_path, monkeypatch):
    """The phase's final weights are its best check's: here a check made worse at every call, so the best
    are the weights the phase started from, restored after training moved away from them."""
    from artzoo.training import holdout, loop

    class Worsening(holdout.HoldoutCheck):
        calls = 0

        def __call__(self, pipe):
            scores = super().__call__(pipe)
            Worsening.calls += 1
            return {**scores, holdout.SCORE: scores[holdout.SCORE] + 1000 * Worsening.calls}

    monkeypatch.setattr(loop, "HoldoutCheck", Worsening)
    c = {**cfg, "generation": {**cfg["generation"], "holdout_every": 2}}
    ds = open_dataset(c, "train")
    start = build_pipeline(c, list(ds.stages), list(ds.channels)).state_dict()  # the run builds the same
    run = tmp_path / "run"
    assert train_phase(c, "generation", run) == 0
    events = [r for r in log_records(run) if r.get("event") in ("holdout", "kept")]
    assert [(r["event"], r["step"]) for r in events] == [("holdout", 0), ("holdout", 2), ("holdout", 3), ("kept", 0)]
    assert [r["best"] for r in events[:3]] == [True, False, False]
    final = final_weights(run)
    assert all(torch.equal(start[k], final[k]) for k in start)
    card = (export_pipeline(c, run, tmp_path / "export") / "README.md").read_text()
    assert "| generation (weights of step 0, its best held-out check) | 3 |" in card
    plain = {**c, "generation": {**c["generation"], "holdout_every": 0}}
    assert train_phase(plain, "generation", tmp_path / "plain") == 0
    moved = final_weights(tmp_path / "plain")
    assert not all(torch.equal(start[k], moved[k]) for k in start)  # without the checks, the last step's


def test_holdout_check_reads_the_test_splits_last_pictures(cfg, tmp_path, monkeypatch):
    """Evaluations take the test split's first pictures, the check its last ones: no picture both selects a
    snapshot and judges it (when the split has room for both)."""
    from artzoo.training import holdout, loop

    write_dataset(tmp_path / "data", n_train=4, n_test=5)
    seen = []

    class Recording(holdout.HoldoutCheck):
        def __init__(self, pictures, seed):
            seen.append(pictures)
            super().__init__(pictures, seed)

    monkeypatch.setattr(loop, "HoldoutCheck", Recording)
    c = {**cfg, "data": {**cfg["data"], "root": str(tmp_path / "data")},
         "generation": {**cfg["generation"], "holdout_pictures": 2, "steps_separate": 1, "steps_joint": 0}}
    assert train_phase(c, "generation", tmp_path / "run") == 0
    test = open_dataset(c, "test")
    for stage, pictures in enumerate(seen[0]):
        assert torch.equal(pictures, torch.stack([test[3][stage], test[4][stage]]))


def test_holdout_check_scores_the_weights_alone(cfg):
    """Fixed pictures and z: the same weights score the same, changed weights differently."""
    from artzoo.training.holdout import SCORE, HoldoutCheck
    from artzoo.training.loop import batch_of

    test = open_dataset(cfg, "test")
    check = HoldoutCheck(batch_of(test, range(len(test))), seed=0)
    assert "real" not in vars(check)  # the real pictures' statistics wait for a check: other processes never pay
    ds = open_dataset(cfg, "train")
    pipe = build_pipeline(cfg, list(ds.stages), list(ds.channels)).train()
    a, b = check(pipe), check(pipe)
    assert a == b and set(a) == {"H0/fd", "H1/fd", SCORE} and pipe.training
    assert a[SCORE] == pytest.approx((a["H0/fd"] + a["H1/fd"]) / 2) and all(v >= 0 for v in a.values())
    with torch.no_grad():
        pipe.transitions[1].generator.head.bias += 0.5
    c = check(pipe)
    assert c["H0/fd"] == a["H0/fd"] and c["H1/fd"] != a["H1/fd"]


def test_phase_all_trains_every_phase_in_one_command_and_skips_finished_ones(config_path, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, str(REPO / "train/train.py"), "--config", str(config_path), "--preset", "", "--phase", "all",
           "--run-dir", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert sorted(p.name for p in (run / "checkpoints").glob("*-final")) == \
        ["generation-final", "inference-final", "prior-final", "regularizer-final"]
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.count("already complete") == 4


def test_sigterm_checkpoints_and_exits(config_path, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, str(REPO / "train/train.py"), "--config", str(config_path), "--preset", "", "--phase",
           "generation", "--run-dir", str(run), "--set", "generation.steps_joint=1000", "--set", "train.checkpoint_every=1000",
           "--set", "train.log_every=1"]
    # One thread: two would mostly spin-wait on a loaded machine. No pipes: a full one would block the child.
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240  # generous: CI machines may be loaded
    while not ((run / "log.jsonl").exists() and '"step"' in (run / "log.jsonl").read_text().split("\n", 1)[-1]):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 128 + signal.SIGTERM
    name = (run / "checkpoints/latest").read_text().strip()
    assert name.startswith("generation-") and 0 < int(name.split("-")[1]) < 1002


@pytest.mark.slow
def test_accelerate_launch_data_parallel(config_path, tmp_path):
    run = tmp_path / "run"
    # accelerate 1.x starts several CPU processes through torchrun (--multi_gpu); its --cpu launcher
    # needs MPI for that.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", str(REPO / "train/train.py"), "--config", str(config_path),
           "--preset", "", "--phase", "inference", "--run-dir", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    records = log_records(run)
    assert records[0]["processes"] == 2
    assert [r["step"] for r in records if "event" not in r] == [1, 2, 3]  # only the main process logs
    WorkflowPipeline.from_pretrained(run / "checkpoints/inference-final/pipeline")
    # Held-out checks run on the main process while the other waits; both end on the best weights.
    done = subprocess.run([*cmd[:cmd.index("inference")], "generation", *cmd[cmd.index("inference") + 1:], "--set",
                           "generation.holdout_every=1"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    events = [r["event"] for r in log_records(run) if r.get("phase") == "generation" and "event" in r]
    assert events == ["start", "holdout", "holdout", "holdout", "holdout", "kept", "end"]
    # The regulariser's calibration joins both processes' measurements (a reduce every process must reach).
    cmd[cmd.index("inference")] = "regularizer"
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    first = next(r for r in log_records(run) if r.get("phase") == "regularizer" and "event" not in r)
    assert first["R0/w_init"] > 0 and first["R1/w_init"] > 0


def test_regularizer_step_survives_adain_entries_without_gradient(cfg):
    """An AdaIN channel that nothing reads has a zero gradient; the unrolled Adam step must not turn
    that into NaN θ gradients (it did, through sqrt'(0), on the first real run)."""
    from accelerate import Accelerator

    from artzoo.training.phases import RegularizerPhase

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny",
                                        discriminators=True, regularizer=True)
    for t in pipe.transitions:
        conv = t.generator.adain_blocks[0].conv1
        conv.weight.data[0] = 0  # channel 0 is constant, so its AdaIN scale gets no gradient
        conv.bias.data[0] = 0
    phase = RegularizerPhase(pipe, cfg, Accelerator(cpu=True))
    n = cfg["regularizer"]["batch_size"]
    x = [torch.rand(n, 1, SIZE, SIZE) * 2 - 1, torch.rand(n, 3, SIZE, SIZE) * 2 - 1, torch.rand(n, 3, SIZE, SIZE) * 2 - 1]
    logs = phase.step(x, 0)
    assert np.isfinite(list(logs.values())).all()
    assert all(torch.isfinite(t.regularizer.theta).all() for t in pipe.transitions)


def spy_generation_step(cfg, step: int, joint_inputs: str | None = None):
    """One generation step on random stages with hooks on every generator and latent encoder: returns
    the batch, the inference nets' chain from its final stage (before the step), and per transition
    the generator's inputs and outputs (both branches in one call: the encoded-z half first) and the
    encoder's inputs, in call order."""
    from accelerate import Accelerator

    from artzoo.training.phases import GenerationPhase

    if joint_inputs is not None:
        cfg = {**cfg, "generation": {**cfg["generation"], "joint_inputs": joint_inputs}}
    cfg = {**cfg, "train": {**cfg["train"], "precision": "float32"}}  # pictures compared exactly below
    torch.manual_seed(0)
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
    phase = GenerationPhase(pipe, cfg, Accelerator(cpu=True))
    n = cfg["generation"]["batch_size"]
    x = [torch.rand(n, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)]
    with torch.no_grad():
        chain = [x[-1]]
        for t in reversed(pipe.transitions):
            chain.insert(0, t.inference(chain[0]))
    calls = [{"gen_in": [], "gen_out": [], "enc_in": [], "inference": t.inference} for t in pipe.transitions]
    def spy(gen, rec):  # the step runs the generator's halves (content, then decode), not its forward
        encode, decode = gen.encode_content, gen.decode

        def on_encode(x):
            rec["gen_in"].append(x.detach().clone())
            return encode(x)

        def on_decode(content, adain):
            out = decode(content, adain)
            rec["gen_out"].append(out.detach().clone())
            return out

        def on_enc(module, args):  # hooks must return None: a pre-hook's return value replaces the input
            rec["enc_in"].append(args[0].detach().clone())

        gen.encode_content, gen.decode = on_encode, on_decode
        return on_enc

    for t, rec in zip(pipe.transitions, calls):
        t.latent_encoder.register_forward_pre_hook(spy(t.generator, rec))
    logs = phase.step(x, step)
    assert np.isfinite(list(logs.values())).all()
    return x, chain, calls


def test_generation_joint_step_trains_on_inferred_stages(cfg):
    """Joint steps (default joint_inputs = "inferred"): G_0 starts from the inference nets' sketch
    inferred from the real final stage and each E_i encodes the inferred stage i+1, as after decompose;
    G_1 takes G_0's encoded-z outputs. Separate steps still see the real stages."""
    assert cfg["generation"]["joint_inputs"] == "inferred"
    half = cfg["generation"]["batch_size"] // 2
    x, chain, calls = spy_generation_step(cfg, cfg["generation"]["steps_separate"])
    assert not torch.equal(chain[0], x[0]) and not torch.equal(chain[1], x[1])
    assert torch.equal(calls[0]["gen_in"][0][:half], chain[0][:half])
    assert torch.equal(calls[0]["enc_in"][0], chain[1][:half])
    assert torch.equal(calls[1]["enc_in"][0], x[2][:half])  # x̂_N is the real final stage
    assert torch.equal(calls[1]["gen_in"][0][:half], calls[0]["gen_out"][0][:half])
    x, chain, calls = spy_generation_step(cfg, 0)
    assert torch.equal(calls[0]["gen_in"][0][:half], x[0][:half]) and torch.equal(calls[0]["enc_in"][0], x[1][:half])
    assert torch.equal(calls[1]["gen_in"][0][:half], x[1][:half])


def test_generation_joint_inputs_generated_keeps_real_sketch_and_stages(cfg):
    half = cfg["generation"]["batch_size"] // 2
    x, chain, calls = spy_generation_step(cfg, cfg["generation"]["steps_separate"], "generated")
    assert torch.equal(calls[0]["gen_in"][0][:half], x[0][:half])
    assert torch.equal(calls[0]["enc_in"][0], x[1][:half]) and torch.equal(calls[1]["enc_in"][0], x[2][:half])
    assert torch.equal(calls[1]["gen_in"][0][:half], calls[0]["gen_out"][0][:half])


def test_generation_cycle_goes_through_the_random_branch_only(cfg):
    """cycle_branches = "random" (the reference's): the inference net takes back the random-z half alone;
    "both": every picture the generator made."""
    half = cfg["generation"]["batch_size"] // 2
    for branches, rows in (("random", slice(half, None)), ("both", slice(None))):
        cfg_b = {**cfg, "generation": {**cfg["generation"], "cycle_branches": branches}}
        seen = []
        with torch.nn.modules.module.register_module_forward_pre_hook(
                lambda m, args: seen.append((m, args[0].detach().clone()))):
            x, chain, calls = spy_generation_step(cfg_b, 0)  # separate: no inference before the step
        for i in range(2):
            # the helper's own decomposition of x first, then the step's one cycle pass
            into_inference = [a for m, a in seen if m is calls[i]["inference"]]
            assert len(into_inference) == 2 and torch.equal(into_inference[1], calls[i]["gen_out"][0][rows])


def test_reference_loss_scales_sum_over_critic_scales_and_the_batch():
    from artzoo.training.losses import hinge_d, hinge_g, kl_normal

    torch.manual_seed(0)
    real, fake = [torch.randn(2, 1, 4, 4), torch.randn(2, 1, 2, 2)], [torch.randn(2, 1, 4, 4), torch.randn(2, 1, 2, 2)]
    assert torch.allclose(hinge_d(real, fake, sum_scales=True), 2 * hinge_d(real, fake))
    assert torch.allclose(hinge_g(fake, sum_scales=True), 2 * hinge_g(fake))
    mu, logvar = torch.randn(3, 8), torch.randn(3, 8)
    assert torch.allclose(kl_normal(mu, logvar, sum_batch=True), 3 * kl_normal(mu, logvar))


def test_generation_rejects_unknown_loss_scale_choices(cfg):
    from accelerate import Accelerator

    from artzoo.training.phases import GenerationPhase

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
    for key, bad in (("critic_scales", "max"), ("kl_over_batch", "none"), ("cycle_branches", "encoded")):
        with pytest.raises(ArtzooError, match=rf"generation.{key} must be one of .*, got '{bad}'"):
            GenerationPhase(pipe, {**cfg, "generation": {**cfg["generation"], key: bad}}, Accelerator(cpu=True))


def test_generation_joint_inputs_rejects_unknown_value(cfg):
    from accelerate import Accelerator

    from artzoo.training.phases import GenerationPhase

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
    bad = {**cfg, "generation": {**cfg["generation"], "joint_inputs": "real"}}
    with pytest.raises(ArtzooError, match=r"joint_inputs must be one of \('inferred', 'generated'\), got 'real'"):
        GenerationPhase(pipe, bad, Accelerator(cpu=True))


def test_prior_phase_encodes_at_most_max_pictures(cfg, trained_run, tmp_path):
    published = export_pipeline(cfg, trained_run, tmp_path / "pub", full_precision=True)
    capped = copy.deepcopy(cfg)
    capped["prior"]["max_pictures"] = 4
    assert train_phase(capped, "prior", tmp_path / "prior", init_from=str(published)) == 0
    pipe = WorkflowPipeline.from_pretrained(export_pipeline(capped, tmp_path / "prior", tmp_path / "out"))
    assert all(t.prior.bank_filled == 4 for t in pipe.transitions)  # of the 6 training pictures


def test_prior_phase_of_no_steps_gives_an_older_prior_keys_and_keeps_its_weights(cfg, trained_run, tmp_path):
    """A prior exported before keys existed (neighbours = 0) still loads (the default falls back to
    "learned", "nearest" says why it can't); a 0-step prior phase warm-started from it indexes the
    training drawings under the same weights."""
    published = export_pipeline(cfg, trained_run, tmp_path / "pub", full_precision=True)
    old = copy.deepcopy(cfg)
    old["prior"].update(neighbours=0)
    assert train_phase(old, "prior", tmp_path / "old", init_from=str(published)) == 0
    before = WorkflowPipeline.from_pretrained(export_pipeline(old, tmp_path / "old", tmp_path / "old-pub"))
    assert "keys" not in before.transitions[0].prior.state_dict()
    sketch = Image.open(Path(cfg["data"]["root"]) / "test/sketch/000.png")
    assert torch.equal(before.sample_z(2, 3, 0, condition=sketch), before.sample_z(2, 3, 0, prior="learned", condition=sketch))
    with pytest.raises(ArtzooError, match="stores no keys.*rerun its prior phase"):
        before.sample_z(2, 3, 0, prior="nearest", condition=sketch)
    reindex = copy.deepcopy(cfg)
    reindex["prior"].update(steps=0)
    assert train_phase(reindex, "prior", tmp_path / "keys", init_from=str(tmp_path / "old-pub")) == 0
    after = WorkflowPipeline.from_pretrained(export_pipeline(reindex, tmp_path / "keys", tmp_path / "keys-pub"))
    for a, b in zip(after.transitions, before.transitions):
        assert a.prior.has_keys and a.prior.config.neighbours == 3
        assert all(torch.equal(a.prior.state_dict()[k], b.prior.state_dict()[k]) for k in b.prior.state_dict()
                   if k.startswith(("body", "head")))


def test_training_rows_label_each_warm_start_on_its_runs_first_row():
    from artzoo.training.export import training_rows

    run = {"steps": 5, "minutes": 1.0, "batch_size": 9, "processes": 1, "hardware": ["cpu"]}
    history = [{"from": None, "phases": {"generation": run}},
               {"from": "pub", "phases": {"prior": run, "regularizer": run}},  # logged prior first
               {"from": "pub2", "phases": {}},  # trained nothing (a 0-step prior phase): no row, no number
               {"from": "pub3", "phases": {"generation": run}}]
    rows = training_rows(history, ["generation", "regularizer", "prior"])
    assert rows[1].startswith("| 2 (warm start from `pub`) | regularizer |") and rows[2].startswith("| 2 | prior |")
    assert len(rows) == 4 and rows[3].startswith("| 3 (warm start from `pub3`) | generation |")


def test_a_phase_that_trained_some_transitions_says_so_in_the_card(tmp_path):
    from artzoo.training.export import training_rows
    from artzoo.training.history import training_history, training_summary

    log = [{"event": "start", "phase": "generation", "step": 0, "processes": 1, "batch_size": 4, "hardware": "cpu",
            "transitions": [2]},
           {"phase": "generation", "step": 1, "dt": 2.0, "img_s": 2.0},
           {"event": "start", "phase": "prior", "step": 0, "processes": 1, "batch_size": 64, "hardware": "cpu",
            "transitions": None},
           {"phase": "prior", "step": 1, "dt": 0.1, "img_s": 640.0}]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    history = training_history(tmp_path, training_summary(tmp_path))
    assert history[0]["phases"]["generation"]["transitions"] == [2] and "transitions" not in history[0]["phases"]["prior"]
    rows = training_rows(history, ["generation", "prior"])
    assert rows[0].startswith("| 1 | generation (transition 2 only) |") and rows[1].startswith("| 1 | prior |")


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)  # the phase draws z in the default dtype
    yield
    torch.set_default_dtype(torch.float32)


def test_generation_critics_learn_from_their_own_loss_only(cfg, float64):
    """One critic pass serves both players: the critics' gradients must equal those of their hinge loss
    on the real stages and the (detached) fakes, with nothing of the generators' loss in them, and the
    frozen inference nets get no gradient at all."""
    from accelerate import Accelerator

    from artzoo.training.losses import hinge_d
    from artzoo.training.phases import GenerationPhase, trainable

    torch.manual_seed(0)
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny",
                                        discriminators=True)
    phase = GenerationPhase(pipe, {**cfg, "train": {**cfg["train"], "precision": "float32"}}, Accelerator(cpu=True))
    fakes = []  # per transition: both branches' pictures from one generator pass, encoded-z half first

    def recording(decode):
        def wrapped(*args):
            out = decode(*args)
            fakes.append(out.detach().clone())
            return out
        return wrapped

    for t in pipe.transitions:
        t.generator.decode = recording(t.generator.decode)
    seen = {}
    for name, opt in (("d", phase.opt_d), ("g", phase.opt_g)):
        opt.step = lambda name=name, opt=opt: seen.update(
            {name: [p.grad.clone() for group in opt.param_groups for p in group["params"]]})
    n, half = cfg["generation"]["batch_size"], cfg["generation"]["batch_size"] // 2
    x = [torch.rand(n, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)]
    phase.step(x, 0)

    critics = [p for d in phase.discs for p in d.parameters()]
    trainable(phase.discs, True)
    loss = 0.0
    for i, t in enumerate(pipe.transitions):
        for name, rows in (("disc_encoded", slice(None, half)), ("disc_random", slice(half, None))):
            disc = t.discriminators[name]
            loss = loss + hinge_d(disc(x[i + 1][rows]), disc(fakes[i][rows]), phase.sum_scales)
    expected = torch.autograd.grad(loss, critics)
    assert len(seen["d"]) == len(expected)
    for got, want in zip(seen["d"], expected):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    assert all(torch.isfinite(g).all() for g in seen["g"])
    assert all(p.grad is None for t in pipe.transitions for p in t.inference.parameters())


def test_encoder_warmup_teaches_the_encoders_mean_colour_alone_then_hands_over(cfg):
    """During generation.encoder_warmup each latent encoder's gradient is that of `colour_code` alone (its
    codes reach the generator detached) and the KL term is off; afterwards the BicycleGAN terms are back."""
    from accelerate import Accelerator

    from artzoo.training.losses import colour_code
    from artzoo.training.phases import GenerationPhase, trainable

    torch.manual_seed(0)
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny",
                                        discriminators=True)
    run_cfg = {**cfg, "train": {**cfg["train"], "precision": "float32"},
               "generation": {**cfg["generation"], "encoder_warmup": 1}}
    phase = GenerationPhase(pipe, run_cfg, Accelerator(cpu=True))
    grads = []
    phase.opt_g.step = lambda: grads.append([p.grad.clone() if p.grad is not None else None
                                             for t in pipe.transitions for p in t.latent_encoder.parameters()])
    n, half = cfg["generation"]["batch_size"], cfg["generation"]["batch_size"] // 2
    x = [torch.rand(n, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)]
    x[1][:, :, :4] = 1  # some paper-white pixels, which the mean colour leaves out
    logs = phase.step(x, 0)
    assert "G0/colour_code" in logs and "G0/kl" not in logs
    encoders = [t.latent_encoder for t in pipe.transitions]
    trainable(encoders, True)
    loss = sum(colour_code(e(x[i + 1][:half])[0], x[i + 1][:half]) for i, e in enumerate(encoders))
    expected = torch.autograd.grad(loss, [p for e in encoders for p in e.parameters()], allow_unused=True)
    for got, want in zip(grads[0], expected):
        if want is None:  # the logvar head: no loss reads it during the warm-up
            assert got is None or torch.count_nonzero(got) == 0
        else:
            torch.testing.assert_close(got, want)
    trainable(encoders, False)
    logs = phase.step(x, 1)
    assert "G0/kl" in logs and "G0/colour_code" not in logs


def test_colour_code_targets_the_mean_of_the_drawn_pixels():
    from artzoo.training.losses import colour_code

    picture = torch.ones(1, 3, 4, 4)  # paper white ...
    picture[:, :, :2] = torch.tensor([-1.0, 0.0, 0.5])[:, None, None]  # ... and a drawn half of one colour
    mu = torch.zeros(1, 8)
    mu[0, :3] = torch.tensor([-2.0, 0.0, 1.0])
    assert colour_code(mu, picture) == 0
    mu[0, 3:] = 5  # the other dimensions are free
    assert colour_code(mu, picture) == 0


def test_generation_in_bfloat16_trains_float32_weights(cfg):
    from accelerate import Accelerator

    from artzoo.training.phases import GenerationPhase

    torch.manual_seed(0)
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
    before = copy.deepcopy(pipe.state_dict())
    bf16 = {**cfg, "train": {**cfg["train"], "precision": "bfloat16"}}
    phase = GenerationPhase(pipe, bf16, Accelerator(cpu=True))
    n = cfg["generation"]["batch_size"]
    logs = phase.step([torch.rand(n, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)], 0)
    assert np.isfinite(list(logs.values())).all()
    after = pipe.state_dict()
    assert all(v.dtype == torch.float32 for v in after.values())
    assert not torch.equal(before["transitions.0.generator.head.weight"], after["transitions.0.generator.head.weight"])


def test_training_precision_must_be_known(cfg):
    from accelerate import Accelerator

    from artzoo.training.phases import GenerationPhase

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
    bad = {**cfg, "train": {**cfg["train"], "precision": "float16"}}
    with pytest.raises(ArtzooError, match=r"train.precision must be one of \['float32', 'bfloat16', 'auto'\], got 'float16'"):
        GenerationPhase(pipe, bad, Accelerator(cpu=True))


def test_prior_step_clips_a_gradient_blow_up(cfg):
    """Codes far outside the mixture give a huge gradient: the step clips it to prior.max_grad_norm
    (Adam would otherwise jump ~16 learning rates at once and then all but stop) and logs its norm."""
    from accelerate import Accelerator

    from artzoo.training.phases import PriorPhase, parameters

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny")
    phase = PriorPhase(pipe, {**cfg, "prior": {**cfg["prior"], "max_grad_norm": 0.5}}, Accelerator(cpu=True))
    x = [torch.rand(4, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)]
    phase.cache = [(t.generator.encode_content(x[i])[0].detach(), 1e3 * torch.randn(4, 8))
                   for i, t in enumerate(pipe.transitions)]
    stepped = []
    phase.opt.step = lambda: stepped.append(torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(p.grad) for p in parameters(phase.priors) if p.grad is not None])))
    logs = phase.step(torch.arange(4), 0)
    assert logs["P/grad_norm"] > 100 and stepped and float(stepped[0]) <= 0.5 + 1e-4


def test_time_budget_ends_a_phase_as_complete_and_counts_in_the_time_left(cfg, tmp_path):
    capped = {**cfg, "inference": {**cfg["inference"], "minutes": 1e-6}}
    assert train_phase(capped, "inference", tmp_path / "run") == 0
    records = [r for r in log_records(tmp_path / "run") if "event" not in r]
    assert [r["step"] for r in records] == [1] and records[0]["left_s"] == 0  # 3 steps asked, the budget said 1
    assert "inference" in json.loads((latest_checkpoint(tmp_path / "run") / "state.json").read_text())["phases_done"]


def test_generation_trains_only_the_chosen_transitions(cfg):
    """generation.transitions = [1]: transition 1 learns, transition 0 stays exactly as it was, in separate
    and in joint steps (where it still hands its pictures to transition 1)."""
    from accelerate import Accelerator

    from artzoo.training.phases import GenerationPhase

    for step in (0, cfg["generation"]["steps_separate"]):
        torch.manual_seed(0)
        pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
        chosen = {**cfg, "generation": {**cfg["generation"], "transitions": [1]},
                  "train": {**cfg["train"], "precision": "float32"}}
        phase = GenerationPhase(pipe, chosen, Accelerator(cpu=True))
        before = [copy.deepcopy(t.state_dict()) for t in pipe.transitions]
        n = cfg["generation"]["batch_size"]
        logs = phase.step([torch.rand(n, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)], step)
        assert set(logs) and all(k.startswith("G1/") for k in logs)
        after = [t.state_dict() for t in pipe.transitions]
        assert all(torch.equal(v, after[0][k]) for k, v in before[0].items())
        assert not all(torch.equal(v, after[1][k]) for k, v in before[1].items())
    with pytest.raises(ArtzooError, match=r"generation.transitions must list transition indices 0..1, got \[2\]"):
        GenerationPhase(pipe, {**cfg, "generation": {**cfg["generation"], "transitions": [2]}}, Accelerator(cpu=True))


def test_prior_phase_trains_and_indexes_only_the_chosen_transitions(cfg):
    """prior.transitions = [1]: prior 1 is trained and its bank filled; prior 0 stays exactly as it was."""
    from accelerate import Accelerator

    from artzoo.training.phases import PriorPhase

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", prior=True)
    before = copy.deepcopy(pipe.transitions[0].prior.state_dict())
    phase = PriorPhase(pipe, {**cfg, "prior": {**cfg["prior"], "transitions": [1]}}, Accelerator(cpu=True))
    ds = open_dataset(cfg, "train")
    logs = phase.step(phase.draw(ds), 0)
    phase.finish(ds)
    assert set(logs) == {"P1/nll", "P/grad_norm"}
    assert all(torch.equal(v, pipe.transitions[0].prior.state_dict()[k]) for k, v in before.items())
    assert pipe.transitions[0].prior.bank_filled == 0 and pipe.transitions[1].prior.bank_filled == len(ds)
    with pytest.raises(ArtzooError, match=r"prior.transitions must list transition indices 0..1, got \[True\]"):
        PriorPhase(pipe, {**cfg, "prior": {**cfg["prior"], "transitions": [True]}}, Accelerator(cpu=True))


def test_inference_trains_only_the_chosen_nets(cfg):
    """inference.transitions = [0]: I_0 learns, I_1 stays exactly as it was, in separate and joint steps."""
    from accelerate import Accelerator

    from artzoo.training.phases import InferencePhase

    for step in (0, cfg["inference"]["steps_separate"]):
        torch.manual_seed(0)
        pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=SIZE, preset="tiny", discriminators=True)
        phase = InferencePhase(pipe, {**cfg, "inference": {**cfg["inference"], "transitions": [0]}}, Accelerator(cpu=True))
        before = [copy.deepcopy(t.inference.state_dict()) for t in pipe.transitions]
        n = cfg["inference"]["batch_size"]
        logs = phase.step([torch.rand(n, c, SIZE, SIZE) * 2 - 1 for c in (1, 3, 3)], step)
        assert set(logs) == {"I0/adv", "I0/l1", "I0/d"}
        after = [t.inference.state_dict() for t in pipe.transitions]
        assert all(torch.equal(v, after[1][k]) for k, v in before[1].items())
        assert not all(torch.equal(v, after[0][k]) for k, v in before[0].items())
