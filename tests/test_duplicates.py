"""The copy relation and the online copy index: what makes two pages copies of one text."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from index.copy_graph import CopyTest
from service.article import Article
from service.config import PipelineConfig
from service.copies import CopyIndex, CopyRelation, CopyView
from service.items import Item, item_of
from service.sketch import Fingerprint, MinHasher, fingerprint
from tests.pages import PARAGRAPHS

CONFIG = PipelineConfig()
STORY = " ".join(PARAGRAPHS * 2)


def _item(text: str, ident: str = "p", title: str | None = None, site: str | None = None) -> Item:
    return item_of(Article(id=ident, text=text, title=title, source=site), CONFIG)


def _view(item: Item) -> tuple[Fingerprint, CopyView]:
    kept = item.sketch.kept()
    fp = fingerprint(item.sketch, kept, MinHasher(CONFIG.copies.num_perm))
    repeated = np.zeros(len(item.sketch), dtype=bool)
    return fp, CopyView(item.sketch, kept, fp.shingles, item.site, repeated, item.headline)


def _groups(texts: list[str]) -> list[tuple[int, float | None]]:
    index = CopyIndex(CONFIG.copies)
    groups = itertools.count()
    out = []
    for member, text in enumerate(texts):
        fp, view = _view(_item(text))
        match = index.match(fp, view)
        group = match.group if match else next(groups)
        index.add(member, group, fp, view)
        out.append((group, match.similarity if match else None))
    return out


def test_exact_copy_differing_in_case_and_quotes_is_one_group() -> None:
    other = STORY.upper().replace('"', "\u201c")
    assert _groups([STORY, other]) == [(0, None), (0, 1.0)]


def test_trimmed_copy_with_new_dateline_joins_the_full_text() -> None:
    words = STORY.split()
    trimmed = "SELWICK (Coast Agency) -- " + " ".join(words[: len(words) // 2])
    (_, _), (group, sim) = _groups([STORY, trimmed])
    assert group == 0 and sim is not None and sim > 0.9


def test_different_text_on_the_same_topic_is_not_a_copy() -> None:
    other = (
        "Storms closed the coastal road near Selwick last week and a convoy of lorries "
        "brought food and generators to the port on Friday, officials said. Boats will take "
        "supplies to the islands. The harbour master said every lorry arrived safely."
    )
    assert [g for g, _ in _groups([STORY, other])] == [0, 1]


def test_empty_texts_never_group() -> None:
    assert [g for g, _ in _groups(["", "", "..."])] == [0, 1, 2]


def test_a_short_article_quoted_inside_a_long_page_is_not_its_copy() -> None:
    short = PARAGRAPHS[0]
    other = [
        f"Council meeting {n} approved the budget for parks, libraries and roads in ward {n}, "
        f"after a debate that lasted {n + 2} hours and ended with a vote of {n + 20} to {n}."
        for n in range(8)
    ]
    long_page = "\n".join([*other[:4], short, *other[4:]])
    relation = CopyRelation(CONFIG.copies)
    ok, containment = relation.link(_view(_item(short))[1], _view(_item(long_page))[1])
    assert containment == 1.0 and not ok  # all of it is there, but it is a small part


def test_a_list_entry_quoting_a_headline_makes_no_copy() -> None:
    quoted = _item(PARAGRAPHS[0], "q", title="Relief convoy of forty lorries reaches Selwick port")
    entry = "1. Relief convoy of forty lorries reaches Selwick port: " + PARAGRAPHS[0]
    lister = _item(
        "\n".join([PARAGRAPHS[3], PARAGRAPHS[2], entry]), "l", title="Islands wait for supplies"
    )
    relation = CopyRelation(CONFIG.copies)
    assert not relation.link(_view(lister)[1], _view(quoted)[1])[0]
    plain = _item("\n".join([PARAGRAPHS[3], PARAGRAPHS[2], PARAGRAPHS[0]]), "c", title="Wait")
    assert relation.link(_view(plain)[1], _view(quoted)[1])[0]  # without the headline: a copy
    alone = _item("\n".join([PARAGRAPHS[3], entry]), "a", title="Islands wait for supplies")
    assert relation.link(_view(alone)[1], _view(quoted)[1])[0]  # mostly the entry: a repost


def test_a_list_entry_under_a_headline_too_short_to_recognise_makes_no_copy() -> None:
    quoted = _item(PARAGRAPHS[0], "q", title="Coastwatch")
    entry = "4. Coastwatch: " + PARAGRAPHS[0]
    lister = _item("\n".join([PARAGRAPHS[3], PARAGRAPHS[2], entry]), "l", title="Islands wait")
    relation = CopyRelation(CONFIG.copies)
    assert not relation.link(_view(lister)[1], _view(quoted)[1])[0]
    unmarked = _item("\n".join([PARAGRAPHS[3], PARAGRAPHS[2], PARAGRAPHS[0]]), "u", title="x")
    assert relation.link(_view(unmarked)[1], _view(quoted)[1])[0]


def test_a_teaser_under_a_headline_taken_from_the_lead_makes_no_copy_but_a_copy_does() -> None:
    headline = "A relief convoy of forty lorries reached the port of Selwick"  # the lead's words
    quoted = _item("\n".join(PARAGRAPHS[:2]), "q", title=headline)
    teaser = ["5. " + headline, PARAGRAPHS[0]]  # the headline line, then the opening
    lister = _item("\n".join([PARAGRAPHS[3], PARAGRAPHS[2], *teaser]), "l", title="Islands")
    relation = CopyRelation(CONFIG.copies)
    assert quoted.headline.own
    assert not relation.link(_view(lister)[1], _view(quoted)[1])[0]
    copy = _item("\n".join(PARAGRAPHS[:2]), "c", title="Convoy reaches Selwick")  # no marker
    assert relation.link(_view(copy)[1], _view(quoted)[1])[0]


def test_two_pages_of_one_site_sharing_only_its_template_are_not_copies() -> None:
    template = [
        f"Site menu line {n}: news, sport, weather and the rest of it all" for n in range(8)
    ]
    a = _item("\n".join([*template, PARAGRAPHS[0]]), "a", site="one.example")
    b = _item("\n".join([*template, PARAGRAPHS[2]]), "b", site="one.example")
    _fa, va = _view(a)
    _fb, vb = _view(b)
    repeated = np.array([True] * 8 + [False])
    va = CopyView(va.sketch, va.kept, va.shingles, 1, repeated, va.headline)
    vb = CopyView(vb.sketch, vb.kept, vb.shingles, 1, repeated, vb.headline)
    relation = CopyRelation(CONFIG.copies)
    assert relation.link(va, vb) == (False, 0.0)
    va_elsewhere = CopyView(va.sketch, va.kept, va.shingles, 2, repeated, va.headline)
    assert relation.link(va_elsewhere, vb)[0]  # on two sites the template would decide


@hsettings(max_examples=50, deadline=None)
@given(
    st.sets(st.integers(0, 500), max_size=60),
    st.sets(st.integers(0, 500), max_size=60),
)
def test_containment_is_symmetric_and_bounded(a: set[int], b: set[int]) -> None:
    test = CopyTest(0.5, 0.2, 1)
    x, y = (np.array(sorted(v), dtype=np.uint32) for v in (a, b))
    assert test.scores(x, y) == test.scores(y, x)
    _common, small, large = test.scores(x, y)
    assert 0.0 <= large <= small <= 1.0
    if a and a <= b:
        assert small == 1.0
