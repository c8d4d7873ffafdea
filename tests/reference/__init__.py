"""The reference tier: real Redis, with truly blocked clients, is the judge of the engine's traces."""
