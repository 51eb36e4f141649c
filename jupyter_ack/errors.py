"""Every exception the tool reports to a person, with the exit code and HTTP status it maps to.

Each derives from :class:`JupyterAckError`: its ``str`` is one line saying what is wrong, and
``hint`` says how to fix it. Front ends (CLI, magics, server routes) print those two and never a
traceback; the CLI exits with ``exit_code`` and the server answers with ``http_status``.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class JupyterAckError(Exception):
    """An error with a one-line message and an optional hint for the user."""

    exit_code: ClassVar[int] = EXIT_ERRORS
    http_status: int = 500

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, str | None]:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class SourceError(JupyterAckError):
    """A pipeline definition could not be read from the source the user named."""

    exit_code = EXIT_USAGE
    http_status = 400


class UsageError(JupyterAckError):
    """A command or magic was called with arguments that cannot work together."""

    exit_code = EXIT_USAGE
    http_status = 400


class AwsError(JupyterAckError):
    """An AWS call failed for a reason the user can act on."""

    http_status = 502


class ClusterError(JupyterAckError):
    """The cluster cannot be used as asked: unreachable, refused, missing CRDs, denied.

    ``http_status`` follows the API server's answer (403 denied, 404 not found, 409 conflict)
    and is 502 when the cluster could not be reached at all.
    """

    def __init__(self, message: str, hint: str | None = None, http_status: int = 502) -> None:
        super().__init__(message, hint)
        self.http_status = http_status


class NotFoundError(JupyterAckError):
    """A run or pipeline the user named does not exist where they looked."""

    http_status = 404


class ManifestError(JupyterAckError):
    """The ACK objects cannot be made: one problem per entry of ``problems``."""

    http_status = 422

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        first = (
            problems[0]
            if len(problems) == 1
            else f"{len(problems)} problems: " + "; ".join(problems)
        )
        super().__init__(first, hint)
        self.problems = problems


class PublishError(JupyterAckError):
    """Nothing was published, or what was is complete; the message says which and why."""

    http_status = 422


class HandoffError(JupyterAckError):
    """A handoff bundle cannot be read, or does not verify."""

    http_status = 422


class SubmitError(JupyterAckError):
    """A submission stopped; the message says at which stage and why."""

    http_status = 409
