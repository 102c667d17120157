"""Registering returnees: form parsing, duplicate search, and the register/edit use cases."""
