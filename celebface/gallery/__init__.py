"""The people gallery: people and their face embeddings in a database (SQLite by default, PostgreSQL at scale)."""
