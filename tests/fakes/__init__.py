"""Fake upstream servers over real HTTP on 127.0.0.1, importable by tests and ``bench/``.

* :mod:`~tests.fakes.telegram`: the Telegram Bot API;
* :mod:`~tests.fakes.wechat`: the WeChat Official Account API;
* :mod:`~tests.fakes.tracking`: a tracking aggregator (Kuaidi100's URL) that never answers in time.
"""
