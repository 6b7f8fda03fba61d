"""The one exception type users see: a short message that says what is wrong and what to do."""


class ArtzooError(ValueError):
    """A problem with the caller's input, files or environment (never an internal bug)."""
