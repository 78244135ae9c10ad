"""Backup and restore: one archive holding the database, the uploaded files and a
manifest with their checksums and the migration revision (`flask backup`, `flask restore`)."""
