"""Data layer: database, tables and migrations, the request-log writer and its spool, usage queries,
the provider store."""
