"""Topic names (SPEC 2.2), nothing else."""

FORUM_EVENTS = "forum.events"
IDEAS_EVENTS = "ideas.events"
REPUTATION_EVENTS = "reputation.events"
GATHERINGS_EVENTS = "gatherings.events"
MEDIA_EVENTS = "media.events"
NOTIFICATIONS_EVENTS = "notifications.events"
SEARCH_EVENTS = "search.events"
ANALYTICS_EVENTS = "analytics.events"

EVENT_TOPICS = (
    FORUM_EVENTS,
    IDEAS_EVENTS,
    REPUTATION_EVENTS,
    GATHERINGS_EVENTS,
    MEDIA_EVENTS,
    NOTIFICATIONS_EVENTS,
    SEARCH_EVENTS,
    ANALYTICS_EVENTS,
)
#: partitions of every ``*.events`` topic; created explicitly, never by auto-creation
EVENT_TOPIC_PARTITIONS = 6
DLQ_PARTITIONS = 1


def dlq(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.dlq"


ALL_TOPICS = EVENT_TOPICS + tuple(dlq(t) for t in EVENT_TOPICS)
