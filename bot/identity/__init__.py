"""Proof that a parcel is the customer's own, before money and personal data."""
