"""Checkpoints shipped inside the package, one directory per name (``from_pretrained("digits-tdd")``)."""
