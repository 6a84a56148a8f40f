"""What every customer channel shares.

Inbound cleaning, the metadata schema, proxies, senders, server limits, log redaction.
"""
