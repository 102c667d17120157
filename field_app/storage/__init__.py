"""Local SQLite storage: opening the database, migrations, where the data lives."""
