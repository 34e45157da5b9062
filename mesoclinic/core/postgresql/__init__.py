"""Django's PostgreSQL backend with one change: its flush may empty the tables the database guards."""
