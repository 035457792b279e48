"""The estimators a run applies (line roles, topics), their features, and their persistence
(`store`: models saved with cards, checked before they are unpickled). Not the shipped model
files themselves: those live in the repository's models/ folder."""
