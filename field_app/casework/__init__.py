"""Device-side use cases of the office and supervisor workspaces (roles, inbox, upkeep, supervisor, exports)."""
