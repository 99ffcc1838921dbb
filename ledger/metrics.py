"""Counters, gauges and histograms in Prometheus text format, with no dependency.

The writer and the API count what an operator needs to see; `/metrics` renders them.
Label sets are bounded by construction (rule codes, outcomes, routes), never client data.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._buckets: dict[str, tuple[float, ...]] = {}
        self._hist: dict[str, dict[Labels, list[float]]] = defaultdict(dict)
        self._gauges: dict[str, Callable[[], float]] = {}
        self._gauge_sets: dict[str, Callable[[], Mapping[Labels, float]]] = {}

    def counter(self, name: str, help_: str) -> None:
        self._help[name] = ("counter", help_)

    def histogram(self, name: str, help_: str, buckets: tuple[float, ...]) -> None:
        self._help[name] = ("histogram", help_)
        self._buckets[name] = buckets

    def gauge(self, name: str, help_: str, read: Callable[[], float]) -> None:
        self._help[name] = ("gauge", help_)
        self._gauges[name] = read

    def gauge_set(self, name: str, help_: str, read: Callable[[], Mapping[Labels, float]]) -> None:
        """A gauge with labelled series, all read by one call (e.g. each projection's lag)."""
        self._help[name] = ("gauge", help_)
        self._gauge_sets[name] = read

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0) + amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        buckets = self._buckets[name]
        with self._lock:
            counts = self._hist[name].setdefault(key, [0.0] * (len(buckets) + 2))
            counts[bisect.bisect_left(buckets, value)] += 1
            counts[-1] += value

    def value(self, name: str, **labels: str) -> float:
        return self._values[name].get(tuple(sorted(labels.items())), 0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (kind, help_) in sorted(self._help.items()):
                lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
                if kind == "counter":
                    for labels, value in sorted(self._values[name].items()):
                        lines.append(f"{name}{_labels(labels)} {value:g}")
                elif name in self._gauge_sets:
                    for labels, value in sorted(self._gauge_sets[name]().items()):
                        lines.append(f"{name}{_labels(labels)} {value:g}")
                elif kind == "gauge":
                    lines.append(f"{name} {self._gauges[name]():g}")
                else:
                    lines += self._render_histogram(name)
        return "\n".join(lines) + "\n"

    def _render_histogram(self, name: str) -> list[str]:
        lines = []
        buckets = self._buckets[name]
        for labels, counts in sorted(self._hist[name].items()):
            running = 0.0
            for bound, count in zip([*buckets, float("inf")], counts, strict=False):
                running += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f"{name}_bucket{_labels((*labels, ('le', le)))} {running:g}")
            lines.append(f"{name}_count{_labels(labels)} {running:g}")
            lines.append(f"{name}_sum{_labels(labels)} {counts[-1]:g}")
        return lines
