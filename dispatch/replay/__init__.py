"""Replay real call streams against a hub: simulated telephony, call-takers, crews and consoles."""
