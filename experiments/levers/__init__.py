"""The levers ablation (``experiments/tdd_levers.py``) by concern: its rows, running a row, the verdicts, the table."""
