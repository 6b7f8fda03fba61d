"""The stage networks. Each has a config dataclass so one code path builds tiny, lean and paper sizes."""

from .config import NetConfig
from .discriminator import DiscriminatorConfig, MultiScaleDiscriminator
from .encoder import LatentEncoder, LatentEncoderConfig
from .generator import GeneratorConfig, StageGenerator
from .inference import InferenceNet, InferenceNetConfig
from .prior import LatentPrior, PriorConfig
from .regularizer import LearnedRegularizer, RegularizerConfig

__all__ = [
    "NetConfig", "GeneratorConfig", "StageGenerator", "LatentEncoderConfig", "LatentEncoder",
    "InferenceNetConfig", "InferenceNet", "RegularizerConfig", "LearnedRegularizer", "DiscriminatorConfig", "MultiScaleDiscriminator",
    "PriorConfig", "LatentPrior",
]
