"""Persistence: SQLModel models, the engine factory, migrations, tokens and the audit trail."""
