"""Damage claims: the customer's answers, photo evidence, the offer and the claim ticket."""
