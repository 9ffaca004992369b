"""Checkpoints on the Hugging Face Hub, the reading side: ``owner/name`` (or ``owner/name@revision``) in,
a local checkpoint directory out. :mod:`tdd.models.registry` resolves model names through it; the upload
with a model card is :mod:`tdd.hub`, which builds on the models.

Downloads go through ``huggingface_hub.snapshot_download`` into its cache, so ``HF_HOME`` /
``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` behave as everywhere in the ecosystem: offline, a model
already in the cache loads and any other one gets a :class:`~tdd.checkpoint.CheckpointError` that
says so. Only the files a checkpoint has are fetched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tdd.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError
from tdd.data.tokenizer import TOKENIZER_NAME

CARD_NAME = "README.md"
CHECKPOINT_FILES = [CONFIG_NAME, WEIGHTS_NAME, TOKENIZER_NAME, CARD_NAME]
LIBRARY_NAME = "tdd"
# owner/name[@revision], as the Hub spells repository ids (letters, digits, - _ .)
HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:@(?P<revision>[\w./-]{1,200}))?$")


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
    from huggingface_hub import snapshot_download  # heavy: loaded for Hub access only
    from huggingface_hub.errors import (  # heavy: loaded for Hub access only
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
        from huggingface_hub import constants  # heavy: loaded for Hub access only

        cache = cache_dir or constants.HF_HUB_CACHE
        reason = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hub could not be reached"
        raise CheckpointError(where, f"not in the local Hugging Face cache ({cache}) and {reason}") from None
    except (HfHubHTTPError, OSError) as e:
        problem = f"could not download from the Hugging Face Hub ({type(e).__name__}: {e})"
        raise CheckpointError(where, problem) from None
    return Path(path)
