"""Evaluation of an alert ranking against the labels of an evaluation dataset.

``evaluate(alerts_path, labels_path)`` returns an :class:`EvaluationReport` with, per party
kind, average precision and recall, precision and false positives by population at alert
budgets; ``report.to_dict()`` for JSON, ``report.render()`` for a Rich console.
"""

from __future__ import annotations

from vigil.evaluation.metrics import BUDGETS, UNLABELLED
from vigil.evaluation.report import (
    BudgetResult,
    EvaluationReport,
    KindEvaluation,
    evaluate,
    evaluate_kind,
    evaluate_tables,
    read_alerts,
    read_labels,
)

__all__ = [
    "BUDGETS",
    "UNLABELLED",
    "BudgetResult",
    "EvaluationReport",
    "KindEvaluation",
    "evaluate",
    "evaluate_kind",
    "evaluate_tables",
    "read_alerts",
    "read_labels",
]
