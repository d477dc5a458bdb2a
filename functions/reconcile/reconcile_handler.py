"""Reconcile function: invoked by an operator, brings schedules and statuses in step."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from telecast.adapters.aws import client
from telecast.reconcile import Reconciler, build_reconciler
from telecast.settings import ReconcileSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Summary counters published as metrics, by metric name.
METRICS = {
    "ReconcileChecked": "checked",
    "ReconcileCreated": "created",
    "ReconcileReplaced": "replaced",
    "ReconcileDeleted": "deleted",
    "ReconcileUnchanged": "unchanged",
    "ReconcileStatusFixed": "status_fixed",
    "ReconcileNotified": "notified",
    "ReconcileForeign": "foreign",
    "ReconcileErrors": "errors",
}


@cache
def reconciler() -> Reconciler:
    """Build the reconciler once per cold start from validated settings."""
    settings = ReconcileSettings.from_env(os.environ)
    return build_reconciler(
        settings, client("dynamodb"), client("scheduler"), client("lambda"), logger
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reconcile once (`{"dry_run": true}` only plans) and return the summary."""
    dry_run = isinstance(event, dict) and event.get("dry_run") is True
    summary = reconciler().run(dry_run=dry_run).summary
    metrics.add_dimension(name="Mode", value="DryRun" if dry_run else "Apply")
    for metric, counter in METRICS.items():
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=getattr(summary, counter))
    return summary.as_dict()
