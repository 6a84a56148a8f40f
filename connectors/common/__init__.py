"""What every customer channel shares.

Inbound cleaning (``inbound``), the metadata schema (``metadata``), proxies (``proxy``),
senders and per-sender rates (``senders``), server limits (``server_limits``), log redaction
and the sender hash of log lines (``log_redaction``), reading callers (``http``: secrets,
bearer tokens, JSON and capped bodies), the replies channels compose (``replies``), one
collected turn through Rasa (``turn``) and background work in order per customer
(``background``).
"""
