"""Proactive service at the edge: the loop that scans, keeps ticket promises and sends notices."""
