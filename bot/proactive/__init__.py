"""Proactive service: watched parcels, what changes are worth a notice, and the notice outbox.

* :mod:`bot.proactive.triggers`: which changes of a parcel are told (pure functions).
* :mod:`bot.proactive.wording`: the notice's words, showing only what the watcher may see.
* :mod:`bot.proactive.quiet`: quiet hours and the per-customer daily cap.
* :mod:`bot.proactive.store`: watches, preferences and the outbox (SQL, the ticket database).
* :mod:`bot.proactive.scan`: one scan of the watched parcels (``python -m bot.proactive scan``).
* :mod:`bot.proactive.watches`: watching a parcel and opting out, for the other layers.

Delivery of queued notices through the channels is not here yet (the next step).
"""
