"""The models: encoders, the recurrences, and the tagger that wraps any recurrence with a head and a loss."""
