"""Entrypoints: thin adapters from the outside to the services — REST API, browser session, CLI, duties, demo.

Each translates a request into one service call and the answer back (STYLE rule 6); no rule lives here.
Modules: ``api/`` (one module per context), ``cli``, ``duties`` (the periodic loop), ``supervisor``
(``--workers N``), ``demo/`` (the demo hall).
"""
