"""The NLU contract: the intents and FAQ topics that the domain and the NLU data must both cover."""

from __future__ import annotations

CORE_INTENTS = [
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "track_waybill",
    "complain_delay",
    "report_damage",
    "report_missing",
    "request_human",
    "check_ticket",
]
"""The intents every part of the assistant knows (the FAQ and the identity check come on top)."""

FAQ_KEYS = [
    "shipping_fee",
    "outlet",
    "prohibited_items",
    "insurance",
    "claim_policy",
    "business_hours",
    "change_address",
]
"""The FAQ topics: retrieval intents ``faq/<key>`` answered by ``utter_faq/<key>``."""
