"""A planted story told by several outlets in different words, for tests of story clustering:
a full wire report (the hub) and write-ups that each cover one angle of it."""

from __future__ import annotations

HUB = (
    "Selwick relief convoy reaches storm-hit coast",
    "A convoy of forty lorries carrying food, water and generators reached the port of Selwick "
    "on Friday, a week after storms cut off coastal villages and left 3,000 people without power. "
    "Engineers hope to reopen the coastal road by Monday, and supplies will be taken by boat to "
    "the outlying islands where damage was worst.",
)
ANGLES = [
    (
        "Forty lorries of aid arrive in Selwick",
        "Forty lorries loaded with food, bottled water and generators rolled into Selwick port on "
        "Friday. The drivers had spent two days on mountain detours because the storm blocked "
        "the coastal route.",
    ),
    (
        "Thousands still without power after Selwick storms",
        "Around 3,000 households on the Selwick coast remain without electricity a week after the "
        "storms, as relief supplies reach the port. Engineers are working to restore lines and "
        "reopen the coastal road by Monday.",
    ),
    (
        "Boats to carry storm aid to Selwick islands",
        "Fishing boats will ferry storm relief supplies from Selwick harbour to the outlying "
        "islands, where storm damage was the worst, aid agencies said on Friday.",
    ),
]
OTHER = [
    (
        "Selwick council approves new harbour car park",
        "Selwick councillors approved plans for a 200-space car park beside the harbour on "
        "Tuesday, despite objections from residents about traffic.",
    ),
    (
        "Record crowds at Selwick summer regatta",
        "More than 10,000 spectators lined the Selwick seafront for the summer regatta, the "
        "largest crowd in the event's sixty-year history.",
    ),
]


def adversarial_feed() -> list[dict[str, object]]:
    """The angles first, the hub last: online assignment sees no link between the angles."""
    rows: list[dict[str, object]] = [
        {"id": f"storm-angle-{n}", "title": t, "text": b} for n, (t, b) in enumerate(ANGLES)
    ]
    rows += [{"id": f"other-{n}", "title": t, "text": b} for n, (t, b) in enumerate(OTHER)]
    rows.append({"id": "storm-hub", "title": HUB[0], "text": HUB[1]})
    return rows
