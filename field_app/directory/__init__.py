"""The partner directory: dataset files in db/ → validated models → the local SQLite store, search, HSDS."""
