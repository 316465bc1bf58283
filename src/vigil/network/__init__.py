"""Network intelligence: entity resolution of parties and the sender–beneficiary graph."""
