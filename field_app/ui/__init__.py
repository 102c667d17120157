"""The Flet user interface: thin views over plain view models (which unit tests drive without Flet)."""
