"""Evaluation as in the paper: Table 2 (reconstruction after fitting), Table 3 (editing after fitting),
diversity, the figures, and writing the tables into a pipeline's model card; and where sampled latents
should come from (N(0, I), a bank, the learned prior: `priors`).

    from artzoo.evaluation import evaluate, to_markdown
    results = evaluate(pipe, Path("data/fluent-emoji"), limit=64)

The command line is `train/evaluate.py`.
"""

from .priors import evaluate_priors, prior_figure, prior_markdown
from .tables import (METHODS, METRICS_MARKER, evaluate, load_stage, merge_methods, to_markdown, update_card,
                     write_to_card)

__all__ = ["METHODS", "METRICS_MARKER", "evaluate", "evaluate_priors", "load_stage", "merge_methods", "prior_figure",
           "prior_markdown", "to_markdown", "update_card", "write_figures", "write_to_card"]


def __getattr__(name):
    # Figures need matplotlib: imported only when asked for.
    if name == "write_figures":
        from .figures import write_figures
        return write_figures
    raise AttributeError(name)
