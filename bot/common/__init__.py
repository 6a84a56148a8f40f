"""Small building blocks every capability and channel shares (plain Python, no rasa or sanic)."""
