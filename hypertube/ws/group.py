"""A watch party's group playback: one position and state for everyone, as a pure state machine.

States: `idle` (nobody has pressed play yet), `paused`, `playing`, and `waiting` (the group holds at
`position` until every member in step has buffered there, then plays if `resume`, else pauses). Members
report `ready` (buffered at the group's position) or `buffering`; a member starts as `joining` and is
never waited for, so a late joiner does not move or hold the group. Times are server clock seconds
(`time.time()`), positions seconds into the film.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IDLE, WAITING, PAUSED, PLAYING = "idle", "waiting", "paused", "playing"
JOINING, READY, BUFFERING = "joining", "ready", "buffering"
# A report or an action within this many seconds of the group's position counts as in step.
IN_STEP = 1.5
# A play at a position further than this from the group's is also a seek: everyone buffers there.
MOVE_THRESHOLD = 0.5
# A playing group's position moves on while a report travels: its reports get this much more slack.
PLAYING_SLACK = 1.5
# The longest the group waits for buffering members before it carries on without them.
MAX_WAIT = 10.0
STATUS_ORDER = {BUFFERING: 0, JOINING: 1, READY: 2}


@dataclass
class Member:
    """One socket in the party: the user it belongs to, its playback status and the node whose process
    holds it (None in parties stored before nodes were noted)."""

    user_id: int
    username: str
    status: str = JOINING
    node: str | None = None


@dataclass
class Change:
    """What an operation changed: the group's playback (`state`) and/or its member list (`members`)."""

    state: bool = False
    members: bool = False

    def __or__(self, other: Change) -> Change:
        return Change(self.state or other.state, self.members or other.members)


@dataclass
class Group:
    state: str = IDLE
    position: float = 0.0
    at: float = 0.0  # when the group was at `position` (it advances from there while playing)
    resume: bool = False  # waiting: play once everyone is ready
    wait_until: float | None = None  # waiting: carry on at this time whoever is still buffering
    action: str = "join"
    by: str | None = None
    members: dict[str, Member] = field(default_factory=dict)

    # --- reading ---------------------------------------------------------------------------------

    def position_at(self, now: float) -> float:
        """The group's position (seconds) at server time `now`."""
        if self.state == PLAYING:
            return self.position + max(0.0, now - self.at)
        return self.position

    def buffering(self) -> list[str]:
        return [sid for sid, m in self.members.items() if m.status == BUFFERING]

    def public(self, movie_id: int, code: str, now: float) -> dict[str, Any]:
        """The `party:state` payload: {movie_id, party, state, action, playing, position, at, by,
        wait_until}, the position moved forward to `now` (= `at`)."""
        return {
            "movie_id": movie_id,
            "party": code,
            "state": self.state,
            "action": self.action,
            "playing": self.state == PLAYING,
            "position": round(self.position_at(now), 3),
            "at": now,
            "by": self.by,
            "wait_until": self.wait_until if self.state == WAITING else None,
        }

    def roster(self) -> list[dict[str, Any]]:
        """One entry per user, {id, username, status}, the least ready of their sockets; sorted by name."""
        users: dict[int, dict[str, Any]] = {}
        for m in self.members.values():
            seen = users.get(m.user_id)
            if seen is None or STATUS_ORDER[m.status] < STATUS_ORDER[seen["status"]]:
                users[m.user_id] = {"id": m.user_id, "username": m.username, "status": m.status}
        return sorted(users.values(), key=lambda u: u["username"].lower())

    # --- storage ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "position": self.position,
            "at": self.at,
            "resume": self.resume,
            "wait_until": self.wait_until,
            "action": self.action,
            "by": self.by,
            "members": {
                sid: {"id": m.user_id, "username": m.username, "status": m.status, "node": m.node}
                for sid, m in self.members.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        members = {
            sid: Member(m["id"], m["username"], m.get("status", JOINING), m.get("node"))
            for sid, m in (data.get("members") or {}).items()
        }
        # Parties stored before group states existed have only `playing`.
        state = data.get("state") or (PLAYING if data.get("playing") else PAUSED)
        return cls(
            state=state,
            position=float(data.get("position", 0.0)),
            at=float(data.get("at", 0.0)),
            resume=bool(data.get("resume")),
            wait_until=data.get("wait_until"),
            action=data.get("action", "join"),
            by=data.get("by"),
            members=members,
        )

    # --- transitions -----------------------------------------------------------------------------

    def settle(self, now: float) -> Change:
        """Ends a wait once nobody is buffering or its time is up (from `wait_until` then)."""
        if self.state != WAITING:
            return Change()
        if self.buffering() and (self.wait_until is None or now < self.wait_until):
            return Change()
        start = now if not self.buffering() or self.wait_until is None else min(now, self.wait_until)
        self.state = PLAYING if self.resume else PAUSED
        self.at = start
        self.resume = False
        self.wait_until = None
        return Change(state=True)

    def _hold(self, resume: bool, now: float) -> None:
        """Waits for the buffering members (if any), else plays or pauses at once."""
        self.at = now
        if self.buffering():
            self.state, self.resume, self.wait_until = WAITING, resume, now + MAX_WAIT
        else:
            self.state, self.resume, self.wait_until = (PLAYING if resume else PAUSED), False, None

    def _moved_to(self, sid: str, position: float) -> None:
        """The group jumps to `position`: every member in step buffers there, except `sid` (already there)."""
        for other, m in self.members.items():
            if m.status != JOINING:
                m.status = READY if other == sid else BUFFERING
        self.position = position

    def _actor_position(self, sid: str, position: float, now: float) -> float:
        """A member's action counts at its own position when it is in step or the group is new; a member
        still joining acts at the group's position (so it cannot drag the group to where it is)."""
        member = self.members.get(sid)
        if self.state == IDLE or (member is not None and member.status != JOINING):
            return position
        return self.position_at(now)

    def join(self, sid: str, user_id: int, username: str, node: str | None = None) -> Change:
        self.members[sid] = Member(user_id, username, node=node)
        return Change(members=True)

    def drop_gone(self, gone: Callable[[str, Member], bool], now: float) -> Change:
        """Removes the members for which `gone(sid, member)` (sockets of a process that died without
        saying goodbye), so that nobody waits for them."""
        dropped = [sid for sid, m in self.members.items() if gone(sid, m)]
        for sid in dropped:
            del self.members[sid]
        return Change(members=bool(dropped)) | self.settle(now)

    def leave(self, sid: str, now: float) -> Change:
        if self.members.pop(sid, None) is None:
            return Change()
        return Change(members=True) | self.settle(now)

    def play(self, sid: str, position: float, now: float, by: str) -> Change:
        before = self.members_snapshot()
        target = self._actor_position(sid, position, now)
        if self.state == IDLE:
            self._first_action(sid)
        elif abs(target - self.position_at(now)) > MOVE_THRESHOLD:
            self._moved_to(sid, target)
        self.position, self.action, self.by = target, "play", by
        self._hold(True, now)
        return Change(state=True, members=before != self.members_snapshot())

    def pause(self, sid: str, position: float, now: float, by: str) -> Change:
        before = self.members_snapshot()
        target = self._actor_position(sid, position, now)
        if self.state == IDLE:
            self._first_action(sid)
        self.position, self.action, self.by = target, "pause", by
        self.state, self.at, self.resume, self.wait_until = PAUSED, now, False, None
        return Change(state=True, members=before != self.members_snapshot())

    def seek(self, sid: str, position: float, now: float, by: str) -> Change:
        """Everyone in step buffers at `position`; the group then carries on as it was (playing or not)."""
        before = self.members_snapshot()
        resume = self.state == PLAYING or (self.state == WAITING and self.resume)
        for m in self.members.values():
            if m.status != JOINING:
                m.status = BUFFERING
        self.position, self.action, self.by = position, "seek", by
        self._hold(resume, now)
        return Change(state=True, members=before != self.members_snapshot())

    def _first_action(self, sid: str) -> None:
        member = self.members.get(sid)
        if member is not None:
            member.status = READY

    def report_ready(self, sid: str, position: float, now: float) -> Change:
        """Member `sid` has buffered at `position`: it counts once that is the group's position."""
        member = self.members.get(sid)
        slack = IN_STEP + (PLAYING_SLACK if self.state == PLAYING else 0.0)
        if member is None or abs(position - self.position_at(now)) > slack:
            return Change()
        changed = member.status != READY
        member.status = READY
        return Change(members=changed) | self.settle(now)

    def report_buffering(self, sid: str, now: float) -> Change:
        """Member `sid` stalls: a playing group holds where it is until it has buffered again."""
        member = self.members.get(sid)
        if member is None or member.status == JOINING:
            return Change()
        changed = member.status != BUFFERING
        member.status = BUFFERING
        if self.state != PLAYING:
            return Change(members=changed)
        self.position = self.position_at(now)
        self.action, self.by = "buffering", member.username
        self._hold(True, now)
        return Change(state=True, members=changed)

    def members_snapshot(self) -> list[tuple[str, str]]:
        return sorted((sid, m.status) for sid, m in self.members.items())
