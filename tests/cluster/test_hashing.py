"""Rendezvous hashing: every node agrees on a film's owner, and a leaving node moves only its own films."""

from __future__ import annotations

from collections import Counter

import pytest

from hypertube.cluster import Node, owner, ranked

NODES = [Node(f"n{i}", f"http://10.0.0.{i}:8000") for i in range(1, 6)]
FILMS = [str(i) for i in range(2000)]


def test_owner_is_stable_and_independent_of_list_order():
    first = {film: owner(film, NODES).id for film in FILMS}
    shuffled = list(reversed(NODES))
    assert {film: owner(film, shuffled).id for film in FILMS} == first
    # Fixed values: a change of hash function would silently move every film on upgrade.
    assert [owner(film, NODES).id for film in ("1", "42", "tt0111161")] == ["n3", "n5", "n3"]


def test_films_spread_over_all_nodes():
    counts = Counter(owner(film, NODES).id for film in FILMS)
    assert set(counts) == {node.id for node in NODES}
    assert min(counts.values()) > len(FILMS) / len(NODES) * 0.8


def test_a_leaving_node_moves_only_its_films_each_to_its_next_choice():
    before = {film: ranked(film, NODES) for film in FILMS}
    gone = NODES[2]
    rest = [node for node in NODES if node != gone]
    for film, order in before.items():
        new_owner = owner(film, rest)
        if order[0] == gone:
            assert new_owner == order[1]
        else:
            assert new_owner == order[0]


def test_a_joining_node_takes_films_only_for_itself():
    newcomer = Node("n6", "http://10.0.0.6:8000")
    moved = [film for film in FILMS if owner(film, NODES) != owner(film, [*NODES, newcomer])]
    assert moved and all(owner(film, [*NODES, newcomer]) == newcomer for film in moved)
    assert len(moved) < len(FILMS) / 6 * 1.25


def test_no_node_no_owner():
    with pytest.raises(ValueError):
        owner("1", [])
