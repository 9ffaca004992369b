"""Datasets the project ships or generates, and image preprocessing."""
