"""The domain's error hierarchy: a rule said no. Pure (no infrastructure), so domain code may
raise these; mapped once to HTTP status codes (carepath/http/common.py) and to the dead-letter queue
(carepath/messaging/consumer.py). Whether an infrastructure failure is worth a retry is
carepath/messaging/retry.py's business."""


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
