"""Plain-Python view models: all screen logic, no Flet imports."""
