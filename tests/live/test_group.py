"""The watch-party group state machine on its own: joins, play, pause, seek, ready and buffering reports."""

from __future__ import annotations

from hypertube.ws.group import (
    BUFFERING,
    IDLE,
    JOINING,
    MAX_WAIT,
    PAUSED,
    PLAYING,
    READY,
    WAITING,
    Change,
    Group,
)


def _group_of_two(now: float = 100.0) -> Group:
    """Host `a` started the film at 0 s (at `now`); `b` is in step, both ready."""
    g = Group()
    g.join("a", 1, "alice")
    g.join("b", 2, "bob")
    g.play("a", 0.0, now, "alice")
    g.report_ready("b", 0.0, now)
    return g


def test_the_first_play_defines_the_group_and_the_player_is_in_step():
    g = Group()
    assert g.join("a", 1, "alice").members
    assert g.state == IDLE and g.members["a"].status == JOINING
    change = g.play("a", 42.0, 10.0, "alice")
    assert change.state and change.members
    assert (g.state, g.position, g.members["a"].status) == (PLAYING, 42.0, READY)
    assert g.position_at(13.0) == 45.0
    payload = g.public(7, "code-123", 13.0)
    assert payload == {
        "movie_id": 7, "party": "code-123", "state": PLAYING, "action": "play", "playing": True,
        "position": 45.0, "at": 13.0, "by": "alice", "wait_until": None,
    }  # fmt: skip


def test_a_late_joiner_neither_moves_nor_holds_the_group():
    g = _group_of_two()
    g.join("c", 3, "carol")
    # Carol's player reports a stall and a stale position while it loads: nothing changes.
    assert not g.report_buffering("c", 105.0).state
    assert not g.report_ready("c", 0.0, 105.0).members
    assert g.members["c"].status == JOINING and g.state == PLAYING
    # Her play or pause acts at the group's position, not at hers.
    g.pause("c", 0.0, 106.0, "carol")
    assert (g.state, g.position) == (PAUSED, 6.0)
    g.play("c", 0.0, 107.0, "carol")
    assert (g.state, g.position) == (PLAYING, 6.0)
    # Once she has buffered where the group is, she counts.
    assert g.report_ready("c", 8.5, 109.0).members
    assert g.members["c"].status == READY


def test_a_seek_waits_for_everyone_then_resumes_playing():
    g = _group_of_two()
    g.join("c", 3, "carol")  # still joining: not waited for
    change = g.seek("a", 60.0, 110.0, "alice")
    assert change.state and change.members
    assert g.state == WAITING and g.resume and g.wait_until == 110.0 + MAX_WAIT
    assert g.position_at(115.0) == 60.0  # a waiting group does not advance
    assert {sid: m.status for sid, m in g.members.items()} == {"a": BUFFERING, "b": BUFFERING, "c": JOINING}
    assert not g.report_ready("a", 10.0, 111.0).members  # a report from before the seek does not count
    assert not g.report_ready("a", 60.0, 111.0).state
    change = g.report_ready("b", 60.2, 112.0)
    assert change.state and g.state == PLAYING and g.at == 112.0
    assert g.position_at(114.0) == 62.0


def test_a_seek_while_paused_stays_paused_and_a_wait_gives_up_after_max_wait():
    g = _group_of_two()
    g.pause("b", 5.0, 105.0, "bob")
    g.seek("b", 30.0, 106.0, "bob")
    assert g.state == WAITING and not g.resume
    g.report_ready("b", 30.0, 107.0)
    assert g.state == WAITING  # alice is still buffering
    assert not g.settle(106.0 + MAX_WAIT - 0.1).state
    assert g.settle(106.0 + MAX_WAIT + 3).state
    assert (g.state, g.position) == (PAUSED, 30.0)


def test_a_stall_holds_a_playing_group_where_it_is():
    g = _group_of_two()
    change = g.report_buffering("b", 104.0)
    assert change.state and g.state == WAITING and g.position == 4.0 and g.resume
    assert g.action == "buffering" and g.by == "bob"
    g.report_ready("b", 4.0, 105.0)
    assert g.state == PLAYING and g.position_at(106.0) == 5.0


def test_a_buffering_member_leaving_ends_the_wait():
    g = _group_of_two()
    g.seek("a", 20.0, 101.0, "alice")
    g.report_ready("a", 20.0, 102.0)
    change = g.leave("b", 103.0)
    assert change.members and change.state and g.state == PLAYING
    assert not g.leave("b", 103.0).members


def test_play_from_elsewhere_is_a_seek_and_a_pause_keeps_the_pausers_position():
    g = _group_of_two()
    g.pause("a", 3.0, 103.2, "alice")
    assert (g.state, g.position) == (PAUSED, 3.0)
    g.play("b", 3.1, 104.0, "bob")  # a small difference: no wait
    assert g.state == PLAYING and g.position == 3.1
    g.pause("a", 3.5, 104.4, "alice")
    g.play("a", 40.0, 105.0, "alice")  # far away: bob buffers there first
    assert g.state == WAITING and g.members["b"].status == BUFFERING and g.members["a"].status == READY


def test_roster_has_one_entry_per_user_with_the_least_ready_status_and_survives_storage():
    g = _group_of_two()
    g.join("a2", 1, "alice")  # a second tab
    g.join("z", 4, "Zed")
    assert g.roster() == [
        {"id": 1, "username": "alice", "status": JOINING},
        {"id": 2, "username": "bob", "status": READY},
        {"id": 4, "username": "Zed", "status": JOINING},
    ]
    again = Group.from_dict(g.to_dict())
    assert again == g
    # A party stored by an older version (no `state`) loads as paused or playing.
    old = Group.from_dict({"playing": True, "position": 12.0, "at": 50.0})
    assert old.state == PLAYING and old.position_at(52.0) == 14.0 and old.members == {}


def test_members_of_a_gone_node_are_dropped_and_a_wait_for_them_ends():
    g = Group()
    g.join("a", 1, "alice", "n1")
    g.join("b", 2, "bob", "n2")
    g.join("old", 3, "carol")  # stored before members had a node: never dropped
    g.play("a", 0.0, 100.0, "alice")
    g.report_ready("b", 0.0, 100.0)
    g.seek("a", 30.0, 101.0, "alice")
    g.report_ready("a", 30.0, 101.5)
    assert g.state == WAITING and g.buffering() == ["b"]
    assert Group.from_dict(g.to_dict()).members["b"].node == "n2"

    def gone(_sid, member):
        return member.node == "n2"

    change = g.drop_gone(gone, 102.0)
    assert change.members and change.state
    assert sorted(g.members) == ["a", "old"]
    assert (g.state, g.at, g.position) == (PLAYING, 102.0, 30.0)
    assert g.drop_gone(gone, 103.0) == Change()
