"""Combining indicators into one explained score per party."""
