"""Domain error hierarchy, mapped once to HTTP status codes and to DLQ-or-retry decisions."""

from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, OperationalError


class CarepathError(Exception):
    """A rule said no. Permanent: retrying the same input gives the same answer."""

    http_status = 422


class NotFound(CarepathError):
    http_status = 404


class Conflict(CarepathError):
    http_status = 409


class InvalidInput(CarepathError):
    http_status = 422


class InvalidTransition(CarepathError):
    http_status = 409


class CapacityExhausted(CarepathError):
    http_status = 409


def is_transient(exc: BaseException) -> bool:
    """Failures of infrastructure that may succeed on retry (DB or broker unavailable)."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, KafkaError | TimeoutError | ConnectionError)
