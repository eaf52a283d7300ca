"""Tracker ``mlflow`` (extra ``gancore[mlflow]``).

Logs to ``$MLFLOW_TRACKING_URI`` when it is set, else to the local store ``./mlruns`` in the
working folder: ``mlruns/mlflow.db`` (SQLite; MLflow 3 refuses new plain-file stores) and
``mlruns/artifacts``. Read it with ``MlflowClient("sqlite:///mlruns/mlflow.db")`` or
``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db``. One MLflow run per training run:
the recipe as parameters (and ``recipe.json`` as an artifact), scalars and scores as metrics
with their step, sample grids as artifacts under ``samples/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gancore.tracking import require

_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")


def _key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . /`` and spaces: ``blocks[0]`` -> ``blocks.0``."""
    return _BAD.sub("_", name.replace("[", ".").replace("]", ""))


class MlflowTracker:
    """An MLflow run in ``experiment`` (default: the recipe name, set at log_hparams)."""

    def __init__(self, out: Path | None, experiment: str = "gancore",
                 run_name: str | None = None, tracking_uri: str | None = None) -> None:
        require("mlflow", "mlflow", "mlflow")
        from mlflow.tracking import MlflowClient

        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        artifacts = None
        if not uri:  # the local store: ./mlruns (a SQLite database and an artifact folder)
            root = Path("mlruns").resolve()
            root.mkdir(parents=True, exist_ok=True)
            uri, artifacts = f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        self.tracking_uri = uri
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = (found.experiment_id if found is not None else
                              self.client.create_experiment(experiment,
                                                            artifact_location=artifacts))
        name = run_name or (out.name if out is not None else None)
        self.run_id = self.client.create_run(self.experiment_id, run_name=name).info.run_id
        self._status = "FINISHED"

    def log_hparams(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(_key(k), str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start:start + 100])
        self.client.log_dict(self.run_id, params, "recipe.json")

    def log_scalars(self, values: dict[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(_key(k), float(v), now, step) for k, v in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def log_image(self, name: str, path: Path, step: int) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path=_key(name))

    def close(self) -> None:
        self.client.set_terminated(self.run_id, self._status)



