"""Modal dialogs: unlock, error, confirm, manual copy, QR code."""
