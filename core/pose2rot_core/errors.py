"""User-facing errors: one readable line that says what is wrong, where, and how to fix it."""


class Pose2RotError(ValueError):
    """Bad input or configuration. The message is shown to users as a single line."""


class MissingDependencyError(Pose2RotError):
    """An optional dependency (torch, transformers, matplotlib) is needed for this feature."""
