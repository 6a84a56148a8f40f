"""HTTP edges: customer channels (Rasa input channels) and, later, the agent console."""
