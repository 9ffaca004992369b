"""Checkpoints on the Hugging Face Hub: the upload of a trained model with a generated model card
(:func:`push_to_hub`, :func:`push_checkpoint`), and, from :mod:`tdd.hub_cache`, the reading side
(:func:`parse_hub_id`, :func:`download`): ``owner/name`` (or ``owner/name@revision``) in, a local
checkpoint directory out, through the Hub's cache (``HF_HOME``, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tdd.checkpoint import CheckpointError
from tdd.data.tokenizer import TOKENIZER_NAME
from tdd.hub_cache import CARD_NAME, CHECKPOINT_FILES, HUB_ID, LIBRARY_NAME, download, parse_hub_id
from tdd.models.registry import ModelKind, PretrainedModel

__all__ = ["CHECKPOINT_FILES", "card_tags", "download", "model_card", "parse_hub_id", "push_checkpoint", "push_to_hub"]
PIPELINE_TAGS = {"classify": "image-classification", "caption": "image-to-text"}  # a model's task → the Hub's
TASK_TAGS = {"classify": "image-classification", "caption": "image-captioning"}
METHOD_TAGS = {"tdd": "discrete-diffusion", "mdd": "masked-diffusion", "ar": "autoregressive"}


def card_tags(kind: ModelKind) -> tuple[str | None, list[str]]:
    """A model kind → the Hub's pipeline tag and the card's tags (method, task, and "baseline")."""
    tags = ["tdd", *filter(None, [METHOD_TAGS.get(kind.method), TASK_TAGS.get(kind.task)])]
    return PIPELINE_TAGS.get(kind.task), tags + (["baseline"] if kind.baseline else [])


def model_card(model: Any, repo_id: str) -> str:
    """A Hub model card (``README.md`` with YAML metadata) from what the checkpoint recorded: the
    architecture, the training command and arguments, and the results."""
    from huggingface_hub import ModelCard, ModelCardData  # heavy: loaded for Hub access only

    extra = getattr(model, "checkpoint_extra", {}) or {}
    args = extra.get("train_args") or {}
    result = extra.get("result") or {}
    pipeline, tags = card_tags(model.kind())
    dataset = {"digits": "mnist", "scenes": "generated-scenes", "coco": "coco"}.get(str(args.get("data", "")))
    metrics = sorted({"accuracy" if "top1" in k else k for k in result if isinstance(result[k], (int, float))})
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        license="mit",
        tags=tags,
        pipeline_tag=pipeline,
        datasets=[dataset] if dataset else None,
        metrics=metrics or None,
    )
    script = "train/train_classifier.py" if model.task == "classify" else "train/train_captioner.py"
    flags = " ".join(f"--{k.replace('_', '-')} {json.dumps(v) if isinstance(v, (dict, list)) else v}"
                     for k, v in sorted(args.items()) if v not in (None, False, "") and k != "config")  # fmt: skip
    config = json.dumps(getattr(model.config, "__dict__", {}), indent=1, default=str)
    body = f"""
# {repo_id}

A `{model.model_type}` of [`tdd`](https://pypi.org/project/tdd/), In-situ Tweedie Discrete Diffusion
(Li et al.): Gaussian noise on one-hot labels or tokens, a timestep-weighted cross-entropy, and
argmax → one-hot → re-noise sampling.

```python
from tdd.models import PretrainedModel
model = PretrainedModel.from_pretrained("{repo_id}")
```

## Training

```bash
python {script} {flags}
```

## Results (recorded by the training run)

```json
{json.dumps(result, indent=1, default=str)}
```

## Configuration

```json
{config}
```
"""
    return str(ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + body))


def push_to_hub(
    model: Any,
    repo_id: str,
    *,
    tokenizer_dir: str | os.PathLike | None = None,
    private: bool | None = None,
    commit_message: str = "Upload tdd checkpoint",
    api: Any = None,
) -> Any:
    """Upload ``config.json``, ``model.safetensors``, the tokenizer (captioners) and a generated
    model card to ``repo_id`` (created if missing). ``api`` defaults to ``huggingface_hub.HfApi()``.
    Returns the commit information."""
    if api is None:
        from huggingface_hub import HfApi  # heavy: loaded for Hub access only

        api = HfApi()
    if HUB_ID.match(repo_id) is None or "@" in repo_id:
        raise ValueError(f"a Hub repository id looks like 'owner/name', got {repo_id!r}")
    with tempfile.TemporaryDirectory(prefix="tdd_push_") as tmp:
        folder = Path(tmp)
        model.save_pretrained(folder)
        if tokenizer_dir is not None:
            source = Path(tokenizer_dir) / TOKENIZER_NAME
            if not source.is_file():
                raise CheckpointError(source, "missing: a captioner is uploaded with its tokenizer")
            (folder / TOKENIZER_NAME).write_bytes(source.read_bytes())
        (folder / CARD_NAME).write_text(model_card(model, repo_id), encoding="utf-8")
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled  # heavy: loaded for Hub access only

        try:
            api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            return api.upload_folder(
                repo_id=repo_id, folder_path=folder, commit_message=commit_message, repo_type="model"
            )
        except (OfflineModeIsEnabled, HfHubHTTPError, OSError) as e:
            raise CheckpointError(repo_id, f"upload to the Hugging Face Hub failed ({type(e).__name__}: {e})") from None


def push_checkpoint(directory: str | os.PathLike, repo_id: str, **kwargs: Any) -> Any:
    """Upload a saved checkpoint directory (its tokenizer too, when it has one) with a model card made
    from its recorded training arguments and results; ``kwargs`` as :func:`push_to_hub`."""
    directory = Path(directory)
    model = PretrainedModel.from_pretrained(directory)  # exactly what was saved, with its training record
    tokenizer_dir = directory if (directory / TOKENIZER_NAME).is_file() else None
    return push_to_hub(model, repo_id, tokenizer_dir=tokenizer_dir, **kwargs)
