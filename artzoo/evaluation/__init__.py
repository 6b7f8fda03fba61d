"""Evaluation as in the paper: Table 2 (reconstruction after fitting), Table 3 (editing after fitting,
the paper's edit protocol), with bootstrap intervals and paired comparisons of methods (`bootstrap`),
diversity, the figures, and writing the tables into a pipeline's model card; and where sampled
latents should come from (N(0, I), a bank, the learned prior: `priors`); and whether generated normal
maps agree with the true geometry (`normals`, chairs), and whether the lighting varies with z (`lighting`,
chairs).

    from artzoo.evaluation import evaluate, to_markdown
    results = evaluate(pipe, Path("data/fluent-emoji"), limit=64)

The command line is `train/evaluate.py`.
"""

from .bootstrap import FrechetResampler, KidReference, KidResampler, interval, resample_counts
from .lighting import evaluate_lighting, lighting_markdown
from .normals import angular_error, evaluate_normals, normals_markdown
from .priors import evaluate_priors, prior_figure, prior_markdown
from .tables import (METHOD_ALIASES, METHOD_SETS, METHODS, METRICS_MARKER, PAIRS, edit_plan, evaluate, load_stage,
                     merge_methods, paired_comparisons, select_methods, to_markdown, update_card, write_to_card)

__all__ = ["FrechetResampler", "KidReference", "KidResampler", "METHODS", "METHOD_ALIASES", "METHOD_SETS",
           "METRICS_MARKER", "PAIRS", "angular_error", "edit_plan", "evaluate", "evaluate_lighting", "evaluate_normals",
           "evaluate_priors", "interval", "lighting_markdown", "load_stage", "merge_methods", "normals_markdown",
           "paired_comparisons", "prior_figure", "prior_markdown", "resample_counts", "select_methods", "to_markdown",
           "update_card", "write_figures", "write_to_card"]


def __getattr__(name):
    # Figures need matplotlib: imported only when asked for.
    if name == "write_figures":
        from .figures import write_figures
        return write_figures
    raise AttributeError(name)
