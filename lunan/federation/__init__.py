"""The alliance at work: follow and verify every other member's log, witness it, and have our
own log witnessed (DESIGN §3.3–3.4)."""
