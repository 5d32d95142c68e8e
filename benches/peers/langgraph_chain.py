"""The peer of bmad's one-step simulation (benches/scale.rs, `step`): a LangGraph chain of
N no-op nodes, built, compiled and invoked once. `python3 langgraph_chain.py N`."""
import sys
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    n: int


def noop(state: State) -> dict:
    return {}


n = int(sys.argv[1])
graph = StateGraph(State)
for i in range(n):
    graph.add_node(f"s{i}", noop)
graph.add_edge(START, "s0")
for i in range(1, n):
    graph.add_edge(f"s{i - 1}", f"s{i}")
graph.add_edge(f"s{n - 1}", END)
graph.compile().invoke({"n": 0}, {"recursion_limit": n + 10})
