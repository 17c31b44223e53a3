"""Connected components of an undirected graph given as edges, by union-find.

The only graph algorithm the patterns need. networkx would do it too, but importing it
takes seconds on a busy two-core machine, and an incremental run has 5 s in total.
"""

from __future__ import annotations

from collections.abc import Iterable


def components(edges: Iterable[tuple[str, str]]) -> list[set[str]]:
    """The node sets of the graph's connected components (nodes that appear in an edge)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for a, b in edges:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[str, set[str]] = {}
    for node in parent:
        groups.setdefault(find(node), set()).add(node)
    return list(groups.values())
