"""Evaluation metrics: FID-style Fréchet distance, KID, diversity, and their feature extractors.

The default extractor (`RandomConvFeatures`) works offline and ships nothing, but its numbers are only
comparable with each other, never with published FIDs; `InceptionV3Features.from_file` loads the
standard FID network from user-supplied weights for that.
"""

from artzoo.metrics.distances import FeatureStats, feature_stats, frechet_distance, kid
from artzoo.metrics.extractors import FeatureExtractor, RandomConvFeatures, default_extractor
from artzoo.metrics.inception import InceptionV3Features
from artzoo.metrics.scores import DiversityScore, diversity, fid, image_stats

__all__ = [
    "DiversityScore",
    "FeatureExtractor",
    "FeatureStats",
    "InceptionV3Features",
    "RandomConvFeatures",
    "default_extractor",
    "diversity",
    "feature_stats",
    "fid",
    "frechet_distance",
    "image_stats",
    "kid",
]
