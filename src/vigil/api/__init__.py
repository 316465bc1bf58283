"""The real-time scoring API: one payment in, its risk and a decision out, before it leaves."""
