"""The sync hub: the server devices push their outbox to and pull changes from (FastAPI; SQLite or PostgreSQL)."""
