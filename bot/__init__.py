"""Domain logic of the express-delivery customer-service assistant (no Rasa imports)."""
