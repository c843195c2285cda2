"""The frontier benchmark: the protocol of ReMasker (ICLR 2024), DiffPuter (ICLR 2025) and CACTI (ICML 2025).

``invimpute bench --protocol frontier`` fits every method on the damaged 80% of each table's rows and
scores it in-sample (those rows' masked cells) and out-of-sample (the held-out 20%, filled by the fitted
model), under HyperImpute's MCAR, MAR and MNAR at 30%, with z-scored and min-max RMSE, MAE, CACTI's R² and
categorical accuracy, resumable through the bench's JSON-lines results file.

- :mod:`~invimpute.bench.frontier.tables`: the tables, their dropped label/id columns and categorical columns.
- :mod:`~invimpute.bench.frontier.protocol`: the split, the masks and the scores (each definition and its source).
- :mod:`~invimpute.bench.frontier.runner`: the grid walk, per-method time budgets, one record per metric.
- :mod:`~invimpute.bench.frontier.report`: the markdown report from the results file alone.
"""

from invimpute.bench.frontier.protocol import MECHANISMS, draw_missing, score_split, split_rows
from invimpute.bench.frontier.report import write_frontier_report
from invimpute.bench.frontier.runner import DEFAULT_METHODS, FrontierConfig, run_frontier
from invimpute.bench.frontier.tables import CACTI_TABLES, TABLES, load_frontier_table

__all__ = [
    "MECHANISMS", "draw_missing", "score_split", "split_rows", "write_frontier_report", "DEFAULT_METHODS",
    "FrontierConfig", "run_frontier", "CACTI_TABLES", "TABLES", "load_frontier_table",
]
