"""Declarations, declaration QR codes, checkpoint passes (issue 14)."""
