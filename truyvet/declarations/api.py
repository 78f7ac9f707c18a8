"""The declarations API, mounted at /api/v1/declarations/ by truyvet/api.py."""

from ninja import Router

router = Router(tags=["declarations"])
