"""What the fuzz tests did, summed over actors; conftest.py prints it at the end."""

import os
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Totals:
    requests: int = 0
    server_errors: int = 0
    nonconforming: int = 0
    by_actor: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, Counter] = field(default_factory=dict)  # operation -> status -> n

    def add(self, actor, requests, server_errors, nonconforming, statuses: Counter) -> None:
        self.requests += requests
        self.server_errors += server_errors
        self.nonconforming += nonconforming
        self.by_actor[actor] = requests
        for (operation, status), count in statuses.items():
            self.statuses.setdefault(operation, Counter())[status] += count

    def lines(self) -> list[str]:
        per_actor = ", ".join(f"{actor} {count}" for actor, count in self.by_actor.items())
        lines = []
        if os.environ.get("MEET_TEST_FUZZ_VERBOSE"):  # which answers each operation got
            for operation, statuses in sorted(self.statuses.items(), key=lambda i: i[0][4:]):
                answered = " ".join(f"{s}x{n}" for s, n in sorted(statuses.items()))
                lines.append(f"  {operation}: {answered}")
        lines.append(
            f"fuzz: {self.requests} requests, {self.server_errors} server errors, "
            f"{self.nonconforming} nonconforming ({per_actor})"
        )
        return lines


TOTALS = Totals()
