"""The composition layer: what spans every app, so that no app has to know the
ones above it.

truyvet's apps form layers (docs/architecture.md, "Layers"): core, places,
accounts, venues, checkins, then the domain apps (tracing, reports). Whatever
needs all of them sits here, on top, beside ``truyvet/urls.py`` (page
mounting), ``truyvet/api.py`` (API mounting) and ``truyvet/cli.py``:

- ``selectors.py`` and ``views.py``: the home page, whose sections gather the
  links every app offers the user;
- ``context_processors.py``: what every page's navigation needs;
- ``demo.py``: the demo data, one step per app (``DEMO_STEPS``).

Nothing below imports this package; ``make lint`` (import-linter) checks it.
"""
