"""Custom Rasa NLU components (the only place outside actions/ and connectors/ that imports rasa)."""
