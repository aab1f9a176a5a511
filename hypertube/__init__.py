"""Hypertube: search films from public sources and watch them while they download."""

__version__ = "0.1.0"
