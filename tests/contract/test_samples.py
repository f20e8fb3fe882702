"""Golden samples: one per registered event type (and version), each complete and realistic,
parsed by our own ``parse()`` into the right model and re-serialised unchanged."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas import CONTENT_TYPE, EVENT_TYPES, parse, topics

SAMPLE_NAME_RE = re.compile(
    r"^(?P<type>community\.[a-z]+\.[A-Za-z]+\.v\d+)(?:\.(?P<variant>[a-z0-9][a-z0-9-]*))?$"
)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ENVELOPE_REQUIRED = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "partitionkey",
    "data",
)
ENVELOPE_KNOWN = {*ENVELOPE_REQUIRED, "actorid"}

#: SPEC 2.2: the Kafka key (= subject = partitionkey) of each event, as a field of its data
KEY_FIELD: dict[str, tuple[str, ...]] = {
    "community.forum.GroupCreated.v1": ("group_id",),
    "community.forum.GroupJoined.v1": ("group_id",),
    "community.forum.GroupLeft.v1": ("group_id",),
    "community.forum.GroupUpdated.v1": ("group_id",),
    "community.forum.GroupArchived.v1": ("group_id",),
    "community.ideas.VoteCast.v1": ("target_id",),
    "community.ideas.IdeasMerged.v1": ("source_idea_id", "target_idea_id"),
    "community.media.MediaVoted.v1": ("target_id",),
    "community.media.GalleryCreated.v1": ("gallery_id",),
    "community.media.GalleryItemAdded.v1": ("gallery_id",),
    "community.media.GalleryItemMoved.v1": ("gallery_id",),
    "community.media.GalleryItemRemoved.v1": ("gallery_id",),
}
DEFAULT_KEY_FIELD = {
    "forum": ("thread_id",),
    "ideas": ("idea_id",),
    "reputation": ("user_id",),
    "gatherings": ("gathering_id",),
    "media": ("media_id",),
    "notifications": ("recipient_id",),
    "search": ("query",),
    "analytics": ("key",),
}

#: who the ``actorid`` is, as a field of data (None: the actor is not part of the data)
ACTOR_FIELD: dict[str, str | None] = {
    "community.notifications.NotificationRead.v1": "recipient_id",
    "community.forum.GroupCreated.v1": "owner_id",
    "community.forum.GroupJoined.v1": "user_id",
    "community.forum.GroupLeft.v1": "user_id",
    "community.forum.PostCreated.v1": "author_id",
    "community.forum.PostEdited.v1": "editor_id",
    "community.forum.PostDeleted.v1": "deleted_by",
    "community.forum.PostFlagged.v1": "flagger_id",
    "community.forum.PostHidden.v1": None,
    "community.forum.PostRestored.v1": "restored_by",
    "community.forum.FlagsDismissed.v1": "dismissed_by",
    "community.forum.GroupUpdated.v1": "updated_by",
    "community.forum.GroupArchived.v1": "archived_by",
    "community.forum.EscalationAcknowledged.v1": "acknowledged_by",
    "community.forum.EscalationReopened.v1": "reopened_by",
    "community.forum.VoteCast.v1": "voter_id",
    "community.forum.AnswerAccepted.v1": "question_author_id",
    "community.forum.AnswerUnaccepted.v1": "question_author_id",
    "community.forum.QuestionEscalated.v1": "question_author_id",  # only when requested
    "community.forum.EscalationResolved.v1": "resolved_by",
    "community.ideas.IdeaSubmitted.v1": "author_id",
    "community.ideas.IdeaCommented.v1": "author_id",
    "community.ideas.VoteCast.v1": "voter_id",
    "community.ideas.IdeaStatusChanged.v1": "changed_by",
    "community.ideas.IdeasMerged.v1": None,
    "community.gatherings.GatheringScheduled.v1": "host_id",
    "community.gatherings.GatheringUpdated.v1": "updated_by",
    "community.gatherings.GatheringCancelled.v1": "cancelled_by",
    "community.gatherings.RsvpChanged.v1": None,  # a promotion's actor freed the seat
    "community.gatherings.SeatOffered.v1": "freed_by",
    "community.gatherings.MemberCheckedIn.v1": "user_id",
    "community.gatherings.GuestQuestionAsked.v1": "author_id",
    "community.gatherings.GuestQuestionAnswered.v1": "answered_by",
    "community.gatherings.GiveawayOpened.v1": "opened_by",
    "community.gatherings.GiveawayEntered.v1": "user_id",
    "community.gatherings.GiveawayDrawn.v1": "drawn_by",
    "community.media.MediaUploaded.v1": "author_id",
    "community.media.MediaApproved.v1": "approved_by",
    "community.media.MediaFlagged.v1": "flagger_id",
    "community.media.MediaHidden.v1": "hidden_by",
    "community.media.MediaRestored.v1": "restored_by",
    "community.media.MediaVoted.v1": "voter_id",
    "community.media.GalleryCreated.v1": "owner_id",
    "community.media.GalleryItemAdded.v1": "added_by",
    "community.media.GalleryItemMoved.v1": "moved_by",
    "community.media.GalleryItemRemoved.v1": "removed_by",
}
#: media events nobody caused directly: the worker's verdicts and the orphan sweep
MEDIA_SYSTEM_EVENTS = {
    "community.media.MediaProcessed.v1",
    "community.media.MediaRejected.v1",
    "community.media.MediaDeleted.v1",
}

#: fields that are legitimately null in every sample of their type
ALWAYS_NULL = {("community.ideas.VoteCast.v1", "thread_id")}  # thread_id is for posts only


#: event types nobody causes directly (a sweeper emits them)
SYSTEM_TYPES = {
    "community.gatherings.GatheringReminderDue.v1",
    "community.gatherings.GiveawayClosed.v1",
}


def _is_system_event(sample: dict[str, Any]) -> bool:
    """Events nobody caused directly (SPEC 2.1: ``actorid`` omitted)."""
    if sample["source"] == "/community/reputation" or sample["type"] in MEDIA_SYSTEM_EVENTS:
        return True
    if sample["type"] in SYSTEM_TYPES:
        return True
    if sample["type"] == "community.media.MediaHidden.v1" and sample["data"]["hidden_by"] is None:
        return True  # hidden by the flags' count, not by a moderator
    if sample["source"] in ("/community/search", "/community/analytics"):
        return True  # telemetry and alerts: no user caused them (search names nobody)
    if sample["source"] == "/community/notifications":
        # the service's own decisions and digests; a read is the member's act
        return sample["type"] != "community.notifications.NotificationRead.v1"
    return bool(
        sample["type"] == "community.forum.QuestionEscalated.v1"
        and sample["data"]["reason"] == "unanswered"
    )


# --- the set of samples ---------------------------------------------------------------------


def test_every_registered_type_has_a_sample(all_samples: dict[str, dict[str, Any]]) -> None:
    sampled = {s["type"] for s in all_samples.values()}
    missing = sorted(set(EVENT_TYPES) - sampled)
    assert not missing, f"no golden sample in shared/schemas/samples for {missing}"
    for event_type in EVENT_TYPES:
        assert event_type in all_samples, f"missing {event_type}.json (the primary sample)"


def test_every_sample_type_is_registered(all_samples: dict[str, dict[str, Any]]) -> None:
    unknown = sorted({s["type"] for s in all_samples.values()} - set(EVENT_TYPES))
    assert not unknown, f"samples of unregistered types: {unknown}"


def test_sample_file_is_named_after_its_type(sample_path: Path, sample: dict[str, Any]) -> None:
    m = SAMPLE_NAME_RE.match(sample_path.stem)
    assert m, f"{sample_path.name}: expected <type>.json or <type>.<variant>.json"
    assert m["type"] == sample["type"]


def test_samples_spell_out_and_exercise_every_field(
    event_type: str, all_samples: dict[str, dict[str, Any]]
) -> None:
    """A golden sample is documentation: every field is written out (no implicit defaults)
    and, across the samples of a type, every field has a real (non-null, non-empty) value."""
    model = EVENT_TYPES[event_type]
    fields = set(model.model_fields)
    datas = [s["data"] for s in all_samples.values() if s["type"] == event_type]
    assert datas
    for data in datas:
        assert set(data) == fields, f"{event_type}: sample data keys differ from the model"
    for name in sorted(fields):
        if (event_type, name) in ALWAYS_NULL:
            continue
        assert any(d[name] not in (None, [], "") for d in datas), (
            f"{event_type}: no sample gives {name!r} a real value"
        )


def test_post_created_variants(all_samples: dict[str, dict[str, Any]]) -> None:
    posts = {
        k: s["data"]
        for k, s in all_samples.items()
        if s["type"] == "community.forum.PostCreated.v1"
    }
    review = posts["community.forum.PostCreated.v1.review"]
    assert review["kind"] == "review"
    assert review["product_id"]
    assert 1 <= review["rating"] <= 5
    media = posts["community.forum.PostCreated.v1.media"]
    assert media["kind"] == "media"
    assert media["media"]
    assert {"url", "media_type", "caption"} <= set(media["media"][0])
    assert any(d["parent_post_id"] is not None and d["kind"] == "reply" for d in posts.values())
    for d in posts.values():
        opening = d["parent_post_id"] is None
        assert (d["title"] is not None) == opening, "title is for opening posts only"
        assert (d["rating"] is not None) == (d["kind"] == "review"), "rating is for reviews only"


# --- each sample ------------------------------------------------------------------------------


def test_sample_envelope(sample: dict[str, Any]) -> None:
    for attr in ENVELOPE_REQUIRED:
        assert attr in sample, f"missing envelope attribute {attr!r}"
    assert set(sample) <= ENVELOPE_KNOWN, "golden samples carry only the SPEC 2.1 attributes"
    assert sample["specversion"] == "1.0"
    assert uuid.UUID(sample["id"]).version in (4, 5)
    producer = sample["type"].split(".")[1]
    assert sample["source"] == f"/community/{producer}"
    assert TIME_RE.match(sample["time"]), "time is ISO 8601 UTC with milliseconds and Z"
    assert sample["datacontenttype"] == "application/json"
    assert sample["partitionkey"] == sample["subject"]
    if _is_system_event(sample):
        assert "actorid" not in sample, "system events have no actorid"
    else:
        assert isinstance(sample.get("actorid"), str)
        assert sample["actorid"]


def test_sample_ids_are_unique(all_samples: dict[str, dict[str, Any]]) -> None:
    ids = [s["id"] for s in all_samples.values()]
    assert len(ids) == len(set(ids))


def test_sample_key_follows_topic_rules(sample: dict[str, Any]) -> None:
    producer = sample["type"].split(".")[1]
    assert f"{producer}.events" in topics.EVENT_TOPICS
    fields = KEY_FIELD.get(sample["type"], DEFAULT_KEY_FIELD[producer])
    assert sample["partitionkey"] in {sample["data"][f] for f in fields}


def test_sample_actor_matches_data(sample: dict[str, Any]) -> None:
    if "actorid" not in sample:
        return
    field = ACTOR_FIELD[sample["type"]]
    if field is not None:
        assert sample["actorid"] == sample["data"][field]


@pytest.mark.parametrize("as_type", ["bytes", "str", "dict"])
def test_sample_parses_to_its_model(
    sample_bytes: bytes, sample: dict[str, Any], as_type: str
) -> None:
    raw: Any = {"bytes": sample_bytes, "str": sample_bytes.decode(), "dict": sample}[as_type]
    env = parse(raw)
    model = EVENT_TYPES[sample["type"]]
    assert type(env.data) is model
    assert env.type == sample["type"]
    assert env.id == sample["id"]
    assert env.subject == sample["subject"]
    assert env.partitionkey == sample["partitionkey"]
    assert env.actorid == sample.get("actorid")
    assert env.data.model_dump(mode="json") == sample["data"]


def test_sample_round_trips(sample_bytes: bytes, sample: dict[str, Any]) -> None:
    env = parse(sample_bytes)
    out = env.to_bytes()
    assert orjson.loads(out) == sample
    assert parse(out) == env


def test_sample_kafka_record(sample_bytes: bytes, sample: dict[str, Any]) -> None:
    env = parse(sample_bytes)
    assert env.key == sample["partitionkey"].encode()
    headers = dict(env.headers())
    assert headers["content-type"] == CONTENT_TYPE.encode()
    assert headers["event-type"] == sample["type"].encode()
    assert not [h for h in headers if h.lower().startswith("ce_")], "structured mode only"
