"""Building a model folder (train, evaluate, card), and the default model, built once per
version of the code that shapes its features and cached."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from vigil.scoring.model_card import save_model
from vigil.scoring.model_evaluation import evaluate_model
from vigil.scoring.training import train_model
from vigil.scoring.training_options import TrainingOptions
from vigil.synth.scenario import SHIPPED

DEFAULT_NAME = "default"
DEFAULT_OPTIONS = TrainingOptions()
# What shapes the features a model reads: a change here means the default model is rebuilt.
_NOT_FEATURES = {"reports", "api", "web", "cases", "evaluation", "cli.py", "cli_support.py"}


def build_model(
    out: Path,
    options: TrainingOptions,
    *,
    evaluate_on: Sequence[str] = SHIPPED,
    evaluate_senders: int = 8000,
    evaluate_seed: int = 5,
    name: str | None = None,
    progress: bool = False,
):
    """Train, evaluate on fresh populations, and write the model folder with its card."""
    out = Path(out)
    result = train_model(options, progress=progress, name=name or out.name)
    evaluation = (
        evaluate_model(result.model, evaluate_on, senders=evaluate_senders, seed=evaluate_seed)
        if evaluate_on
        else None
    )
    save_model(out, result.model, options, result, evaluation)
    return result, evaluation


def code_fingerprint() -> str:
    """A digest of the package files that shape features, indicators and training."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(repr(DEFAULT_OPTIONS).encode())
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and path.suffix in {".py", ".yaml", ".csv"}
            and relative.parts[0] not in _NOT_FEATURES
            and "__pycache__" not in relative.parts
        ):
            digest.update(str(relative).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_folder() -> Path:
    explicit = os.environ.get("VIGIL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vigil"


def default_model_path() -> Path:
    return cache_folder() / "models" / f"{DEFAULT_NAME}-{code_fingerprint()}"


def default_model(*, progress: bool = False) -> Path:
    """The default model's folder, trained (reproducibly: fixed seeds) on first use."""
    path = default_model_path()
    if (path / "model.json").is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".building-") as tmp:
        building = Path(tmp) / path.name
        build_model(building, DEFAULT_OPTIONS, name=DEFAULT_NAME, progress=progress)
        if not (path / "model.json").is_file():  # another process may have finished first
            shutil.rmtree(path, ignore_errors=True)
            building.rename(path)
    return path


def resolve_model(model: Path | str | None) -> Path | None:
    """A model folder, or the word 'default' for the default model."""
    if model is None:
        return None
    if str(model) == DEFAULT_NAME and not Path(model).exists():
        return default_model(progress=True)
    return Path(model)
