"""Checkpoints on the Hugging Face Hub: ``owner/name`` (or ``owner/name@revision``) in, a local
checkpoint directory out; and the upload of a trained model with a generated model card.

Downloads go through ``huggingface_hub.snapshot_download`` into its cache, so ``HF_HOME`` /
``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` behave as everywhere in the ecosystem: offline, a model
already in the cache loads and any other one gets a :class:`~tdd.checkpoint.CheckpointError` that
says so. Only the files a checkpoint has are fetched.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from tdd.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError
from tdd.data.tokenizer import TOKENIZER_NAME

CARD_NAME = "README.md"
CHECKPOINT_FILES = [CONFIG_NAME, WEIGHTS_NAME, TOKENIZER_NAME, CARD_NAME]
LIBRARY_NAME = "tdd"
# owner/name[@revision], as the Hub spells repository ids (letters, digits, - _ .)
HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:@(?P<revision>[\w./-]{1,200}))?$")
TASK_TAGS = {  # model_type → (pipeline tag, tags)
    "tdd-classifier": ("image-classification", ["tdd", "discrete-diffusion", "image-classification"]),
    "linear-classifier": ("image-classification", ["tdd", "image-classification", "baseline"]),
    "tdd-captioner": ("image-to-text", ["tdd", "discrete-diffusion", "image-captioning"]),
    "mdd-captioner": ("image-to-text", ["tdd", "masked-diffusion", "image-captioning"]),
    "ar-captioner": ("image-to-text", ["tdd", "autoregressive", "image-captioning", "baseline"]),
}


def parse_hub_id(name: str | os.PathLike) -> tuple[str, str | None] | None:
    """``"owner/name@rev"`` → ``("owner/name", "rev")``; ``None`` for anything that is not a Hub id
    or that names an existing local path (a local directory always wins)."""
    text = str(name)
    match = HUB_ID.match(text)
    if match is None or Path(text).exists():
        return None
    return match["repo"], match["revision"]


def download(repo_id: str, revision: str | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """The checkpoint files of a Hub repository in the local cache (downloaded when missing).

    Raises:
        CheckpointError: naming the repository when it is not in the cache while offline, does not
            exist, has no such revision, or cannot be reached.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        path = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=None if cache_dir is None else str(cache_dir),
            allow_patterns=CHECKPOINT_FILES,
            library_name=LIBRARY_NAME,
        )
    except RevisionNotFoundError:
        raise CheckpointError(where, "the Hugging Face Hub repository has no such revision") from None
    except RepositoryNotFoundError:
        raise CheckpointError(where, "no such model on the Hugging Face Hub (or it is private)") from None
    except LocalEntryNotFoundError:
        from huggingface_hub import constants

        cache = cache_dir or constants.HF_HUB_CACHE
        reason = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hub could not be reached"
        raise CheckpointError(where, f"not in the local Hugging Face cache ({cache}) and {reason}") from None
    except (HfHubHTTPError, OSError) as e:
        problem = f"could not download from the Hugging Face Hub ({type(e).__name__}: {e})"
        raise CheckpointError(where, problem) from None
    return Path(path)


def model_card(model: Any, repo_id: str) -> str:
    """A Hub model card (``README.md`` with YAML metadata) from what the checkpoint recorded: the
    architecture, the training command and arguments, and the results."""
    from huggingface_hub import ModelCard, ModelCardData

    extra = getattr(model, "checkpoint_extra", {}) or {}
    args = extra.get("train_args") or {}
    result = extra.get("result") or {}
    pipeline, tags = TASK_TAGS.get(model.model_type, (None, ["tdd"]))
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
    script = "train/train_classifier.py" if "classifier" in model.model_type else "train/train_captioner.py"
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
        from huggingface_hub import HfApi

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
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

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
    from tdd.models.registry import PretrainedModel

    directory = Path(directory)
    model = PretrainedModel.from_pretrained(directory)  # exactly what was saved, with its training record
    tokenizer_dir = directory if (directory / TOKENIZER_NAME).is_file() else None
    return push_to_hub(model, repo_id, tokenizer_dir=tokenizer_dir, **kwargs)
