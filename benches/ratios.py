#!/usr/bin/env python3
"""Prints the codec benchmark's parses as ratios to the peer parser of the same run
(`cargo bench --bench sip2` first): criterion's median per benchmark, and peer / ours."""

import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion" / "sip2"
PEER = "peer_evergreen_from_sip_63"


def median_ns(name):
    estimates = json.loads((ROOT / name / "new" / "estimates.json").read_text())
    return estimates["median"]["point_estimate"]


peer = median_ns(PEER)
print(f"{PEER:<28} {peer:8.1f} ns  (baseline)")
for name in ("parse_63_view", "parse_63_request"):
    ours = median_ns(name)
    print(f"{name:<28} {ours:8.1f} ns  {peer / ours:5.2f}x the peer")
