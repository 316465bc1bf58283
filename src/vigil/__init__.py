"""Vigil: finds payers and facilitators of live-streamed child sexual abuse in payment data."""
