"""Health and movement declarations, checkpoints and the epidemic-level
calculator (issue 14). Placed in its layer now so that the layering is fixed
before the app lands; see decisions/0012."""
