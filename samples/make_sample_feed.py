"""Writes samples/feed.jsonl: a small fictional feed with planted copies, captions,
independent write-ups and cross-page boilerplate. Its truth is in each article's id:
``<story>-<copy group>-<n>``."""

from __future__ import annotations

import json
from pathlib import Path

DISCLAIMER = (
    "Disclaimer: Comments reflect readers' views, not ours. Please keep discussions "
    "respectful. Abusive comments will be removed."
)
NEWSLETTER = "Sign up for our morning briefing and never miss a story."

BRIDGE = [
    "The Halvard Bridge in Riverton will close to all traffic for six weeks from Monday "
    "after engineers found corrosion in two of its main support cables, the city's "
    "transport department said on Thursday.",
    "Inspectors discovered the damage during a routine survey last month. The department "
    "said the bridge was not in immediate danger but that repairs could not be carried "
    "out safely while vehicles were crossing.",
    "About 40,000 vehicles use the bridge each day. Buses will be diverted over the "
    "Eastgate crossing, adding up to 25 minutes to journeys into the city centre during "
    "rush hour.",
    'Mayor Lena Ostrova said the closure was regrettable but unavoidable. "Safety has to '
    "come first, and we will reopen the bridge as soon as the engineers tell us it is "
    'sound," she told reporters at city hall.',
    "Local businesses on the north bank warned that the closure would cut footfall at the "
    "height of the summer season. The chamber of commerce asked the city to waive parking "
    "fees in the affected districts.",
    "The bridge, opened in 1964, last underwent major repairs in 2009, when its deck was "
    "resurfaced. A full replacement has been discussed for years but never funded.",
]
BRIDGE_CAPTION = "Traffic crosses the Halvard Bridge in Riverton on Wednesday (Photo: Wire Agency)"
BRIDGE_OWN = [
    "Riverton drivers face six weeks of detours after the city shut the Halvard Bridge "
    "over corroded support cables found by inspectors.",
    "Transport officials said on Thursday that the 1964 crossing would be closed from "
    "Monday while two main cables are repaired, sending buses the long way round via "
    "Eastgate.",
    "Mayor Lena Ostrova called the decision unavoidable and said the bridge would reopen "
    "once engineers declared it safe. Shop owners on the north bank fear a summer slump.",
]
HARVEST = [
    "A late frost has destroyed up to a third of the apple blossom in the Calder Valley, "
    "growers said on Tuesday, raising fears of a poor harvest and higher prices in the "
    "autumn.",
    "Temperatures fell to minus four degrees on two consecutive nights last week, just as "
    "the orchards reached full bloom. Many farmers lit fires between the rows in an attempt "
    "to keep the cold air moving.",
    '"We have not seen damage like this in twenty years," said Marta Kell, who manages '
    '80 hectares near the village of Ashby. "Some of the younger trees have lost '
    'everything."',
    "The growers' association said it would ask the regional government for emergency "
    "support, and warned that seasonal pickers might be offered fewer weeks of work.",
]
HARVEST_OWN = [
    "Apple growers in the Calder Valley are counting the cost of two nights of hard frost "
    "that struck at the worst possible moment, with the trees in full blossom.",
    "Up to a third of this year's crop may be lost, according to the growers' association, "
    "which is seeking emergency aid from the regional government. Shoppers could pay more "
    "for apples this autumn.",
]
LIBRARY = [
    "The central library will stay open until 10 p.m. on weekdays from next month, the "
    "council announced, after a survey found that students and shift workers wanted "
    "later hours.",
    "The extended opening will be paid for by moving two mobile library routes to a "
    "fortnightly timetable. Councillors approved the change unanimously on Monday evening.",
]
OTHER_BRIDGE = [
    "Work to widen the Marlow Street bridge in Westfield finished two weeks ahead of "
    "schedule on Friday, and the crossing reopened with a new cycle lane on each side.",
    "The Westfield project cost 12 million and was funded by the regional transport fund. "
    "Residents had campaigned for safer cycling routes across the canal for a decade.",
]
CHESS = [
    "Eleven-year-old Priya Nandakumar won the national junior chess championship on Sunday, "
    "beating three players who were all at least five years older.",
    "She clinched the title with a draw in the final round and now qualifies for the "
    "European youth championship in the autumn.",
]


def article(ident: str, title: str, paragraphs: list[str], **extra: object) -> dict[str, object]:
    return {"id": ident, "title": title, "text": "\n\n".join(paragraphs), **extra}


def feed() -> list[dict[str, object]]:
    day = "2026-06-04T{}:00:00Z"
    return [
        article(
            "bridge-wire-1",
            "Riverton's Halvard Bridge to close for cable repairs",
            BRIDGE,
            source="wire.example",
            published_at=day.format("08"),
        ),
        article(
            "bridge-wire-2",
            "Corroded cables shut key Riverton bridge for six weeks",
            ["RIVERTON (Wire Agency) -- " + BRIDGE[0], *BRIDGE[1:4], "Read More", DISCLAIMER],
            source="north-post.example",
            published_at=day.format("09"),
        ),
        article(
            "bridge-wire-3",
            "Halvard Bridge closing on Monday",
            [
                BRIDGE[0],
                BRIDGE_CAPTION,
                BRIDGE_CAPTION,
                *BRIDGE[1:3],
                BRIDGE[3].replace("regrettable", "unfortunate"),
                *BRIDGE[4:],
            ],
            source="valley-news.example",
            published_at=day.format("11"),
        ),
        article(
            "bridge-own-1",
            "Detours ahead as Riverton shuts bridge",
            BRIDGE_OWN,
            source="city-herald.example",
            published_at=day.format("12"),
        ),
        article(
            "harvest-wire-1",
            "Late frost wipes out a third of Calder Valley apple blossom",
            HARVEST,
            source="wire.example",
            published_at="2026-05-12T07:30:00Z",
        ),
        article(
            "harvest-wire-2",
            "Frost threatens apple harvest",
            [*HARVEST[:3], NEWSLETTER, DISCLAIMER],
            source="farm-weekly.example",
            published_at="2026-05-12T10:00:00Z",
        ),
        article(
            "harvest-own-1",
            "Apple growers count cost of frost",
            HARVEST_OWN,
            source="city-herald.example",
            published_at="2026-05-13T06:00:00Z",
        ),
        article(
            "library-1",
            "Central library to open late on weekdays",
            [*LIBRARY, NEWSLETTER, DISCLAIMER],
            source="city-herald.example",
            published_at="2026-06-01T15:00:00Z",
        ),
        article(
            "westfield-1",
            "Marlow Street bridge reopens early with cycle lanes",
            [*OTHER_BRIDGE, NEWSLETTER, DISCLAIMER],
            source="west-gazette.example",
            published_at=day.format("10"),
        ),
        article(
            "chess-1",
            "Eleven-year-old wins national junior chess title",
            CHESS,
            source="north-post.example",
            published_at="2026-06-02T18:00:00Z",
        ),
    ]


if __name__ == "__main__":
    path = Path(__file__).with_name("feed.jsonl")
    with path.open("w", encoding="utf-8") as out:
        for row in feed():
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {path}")
