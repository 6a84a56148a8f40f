"""Helpers shared by the test modules (and importable by ``bench/``); never tests themselves.

A test module imports from here or from :mod:`tests.fakes`, never from another test module.

* :mod:`~tests.support.e2e_servers`: the real Rasa and action servers as processes;
* :mod:`~tests.support.console`: the agent console (agents created with the CLI, login);
* :mod:`~tests.support.claims`: a Rasa ``Agent`` holding damage-claim trackers;
* :mod:`~tests.support.telegram` / :mod:`~tests.support.wechat`: the messenger's side of a
  callback (updates, signed XML) and, for WeChat, the channel served for real;
* :mod:`~tests.support.images`: images carrying GPS metadata (EXIF, XMP, PNG text);
* :mod:`~tests.support.sanic_server`: one channel's blueprint on a real Sanic server;
* :mod:`~tests.support.redis_server` / :mod:`~tests.support.pg_server`: the local Redis and
  PostgreSQL, or a failure saying how to start them;
* :mod:`~tests.support.shared_data`: third-party data in ``../shared/data``;
* :mod:`~tests.support.actions`: the demo services, parcels and trackers for running actions;
* :mod:`~tests.support.stores`: a store's database on SQLite or PostgreSQL, and a stepping clock;
* :mod:`~tests.support.contract`: the intents and FAQ topics of the NLU contract.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project's root folder (where ``domain/``, ``models/`` and ``tests/`` live)."""
