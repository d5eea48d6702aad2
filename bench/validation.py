"""What request validation costs on the hot paths, in process (a benchmark, not a test).

`.venv/bin/python bench/validation.py` times `Body.parse` of the knock's body (the
declared `REQUEST_ENTRY_BODY`: JSON decoding plus the field rules) and of the largest
body the API takes (a room update), and building the OpenAPI document once. Compare the
per-call figure with a knock's CPU per request printed by `bench/run.py` (about 2 ms).
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from meet_web.views.api.lobby import REQUEST_ENTRY_BODY
from meet_web.views.api.rooms import ROOM_BODY

RUNS = 200_000


def per_call_us(body, payload: dict, runs: int = RUNS) -> float:
    request = SimpleNamespace(body=json.dumps(payload).encode())
    body.parse(request)
    started = time.process_time()
    for _ in range(runs):
        body.parse(request)
    return (time.process_time() - started) / runs * 1e6


def main() -> None:
    knock = per_call_us(REQUEST_ENTRY_BODY, {"username": "Guest"})
    update = per_call_us(
        ROOM_BODY,
        {
            "name": "Weekly team meeting",
            "access_level": "restricted",
            "configuration": {"can_publish_sources": ["camera", "microphone"]},
        },
        RUNS // 4,
    )
    print(f"knock body (request-entry):  {knock:6.2f} µs CPU per request")
    print(f"room update body:            {update:6.2f} µs CPU per request")
    print(f"share of a 2 ms knock:       {knock / 2000:6.2%}")


if __name__ == "__main__":
    main()
