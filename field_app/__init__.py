"""Passerelle: an offline-first field app for referring returning migrants in Mali to partners."""

__version__ = "0.1.0"
