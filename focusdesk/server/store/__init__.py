"""Units of work over the database: plain functions taking a SQLAlchemy Connection (see server/db.py)."""
