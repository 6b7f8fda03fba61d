"""Network widths per preset, and the configs of one transition's networks built from them.

"tiny" is for tests, "lean" the 64 px CPU model, "paper" the reference's widths (nz 8, 4 AdaIN blocks ×
256 channels, MLP 256). Image size, nz and the generator's skips are chosen separately. Keys are the
component names a pipeline folder uses.
"""

from __future__ import annotations

from ..errors import ArtzooError
from .discriminator import DiscriminatorConfig
from .encoder import LatentEncoderConfig
from .generator import GeneratorConfig
from .inference import InferenceNetConfig

PRESETS = {
    "tiny": dict(generator=dict(base_channels=8, n_content_res=1, n_adain_res=1, mlp_dim=32),
                 latent_encoder=dict(base_channels=8, n_blocks=3, max_channels=32),
                 inference=dict(base_channels=8, max_channels=32), discriminator=dict(base_channels=8, n_layers=2)),
    "lean": dict(generator=dict(base_channels=32, n_content_res=2, n_adain_res=2, mlp_dim=128),
                 latent_encoder=dict(base_channels=32, n_blocks=4, max_channels=128),
                 inference=dict(base_channels=32, max_channels=256), discriminator=dict(base_channels=32, n_layers=3)),
    "paper": dict(generator=dict(base_channels=64, n_content_res=4, n_adain_res=4, mlp_dim=256),
                  latent_encoder=dict(base_channels=64, n_blocks=4, max_channels=256),
                  inference=dict(base_channels=64, max_channels=512), discriminator=dict(base_channels=64, n_layers=4)),
}
# The three critics of a transition: encoded-z and random-z generator outputs, and inference pairs.
DISCRIMINATORS = ("disc_encoded", "disc_random", "disc_inference")


def transition_configs(preset: str, in_channels: int, out_channels: int, image_size: int, *, nz: int = 8,
                       skip_connections: bool = True, discriminators: bool = False,
                       overrides: dict | None = None) -> dict:
    """Component name → config for one transition (stage with ``in_channels`` → ``out_channels``).
    ``overrides`` maps a `PRESETS` key to config fields that replace the preset's."""
    if preset not in PRESETS:
        raise ArtzooError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    unknown = sorted(set(overrides or {}) - set(PRESETS[preset]))
    if unknown:
        raise ArtzooError(f"overrides name unknown networks {unknown}; use {sorted(PRESETS[preset])}")
    sizes = {k: {**v, **(overrides or {}).get(k, {})} for k, v in PRESETS[preset].items()}
    n_down = max(3, min(int(image_size).bit_length() - 3, 8))  # U-Net bottleneck at 4×4 (at most 8 levels)
    configs = {
        "generator": GeneratorConfig(in_channels=in_channels, out_channels=out_channels, image_size=image_size,
                                     nz=nz, skip_connections=skip_connections, **sizes["generator"]),
        "latent_encoder": LatentEncoderConfig(in_channels=out_channels, image_size=image_size, nz=nz,
                                              **sizes["latent_encoder"]),
        "inference": InferenceNetConfig(in_channels=out_channels, out_channels=in_channels, image_size=image_size,
                                        n_downsample=n_down, **sizes["inference"]),
    }
    if discriminators:
        critic = dict(image_size=image_size, **sizes["discriminator"])
        configs.update(disc_encoded=DiscriminatorConfig(in_channels=out_channels, **critic),
                       disc_random=DiscriminatorConfig(in_channels=out_channels, **critic),
                       disc_inference=DiscriminatorConfig(in_channels=in_channels + out_channels, **critic))
    return configs
