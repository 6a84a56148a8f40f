"""Thin rasa_sdk actions: read slots, call bot/, utter, return events."""
