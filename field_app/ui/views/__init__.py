"""Thin Flet views: build controls from view-model state and forward events."""
