from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.article import Article
from service.flags import (
    BOILERPLATE,
    CAPTION,
    REPEATED_BLOCK,
    REPEATED_CAPTION,
    boilerplate_flags,
    has_credit_cue,
)
from service.prepare import prepare
from service.settings import Settings
from service.text import split_blocks
from tests.pages import CAPTION as PLANTED_CAPTION
from tests.pages import PARAGRAPHS, RELATED, SUMMARY, scraped_page


def _page(settings: Settings, text: str, **kw: object):
    return prepare(Article(id="p", text=text, **kw), settings.pipeline.page)  # type: ignore[arg-type]


def test_planted_page_flags_every_repeat_and_no_paragraph(settings: Settings) -> None:
    text = scraped_page()
    page = _page(settings, text)
    by_text = {f.text: f for f in page.flags}

    caption = by_text[PLANTED_CAPTION]
    assert caption.kind == REPEATED_CAPTION
    assert caption.count == 2
    assert [text[a:b] for a, b in caption.spans] == [PLANTED_CAPTION, PLANTED_CAPTION]

    summary = by_text[SUMMARY]
    assert summary.kind == REPEATED_BLOCK
    assert summary.count == 2
    assert [text[a:b] for a, b in summary.spans] == [SUMMARY, SUMMARY.rstrip(".")]

    assert by_text[RELATED[0]].kind == REPEATED_BLOCK
    assert by_text[RELATED[0]].count == 2
    union = [f for f in page.flags if "union" in f.text]
    assert len(union) == 1 and union[0].count == 2

    flagged = {text[a:b] for f in page.flags for a, b in f.spans}
    for paragraph in PARAGRAPHS:
        assert paragraph not in flagged
        assert paragraph in page.clean_text
    assert SUMMARY + "\n" not in page.clean_text
    assert "(Image: Coast Agency)" not in page.clean_text


def test_single_caption_is_flagged_and_dropped(settings: Settings) -> None:
    text = "A long paragraph about a harbour and its boats in the storm.\nBoats at dawn (AP Photo/J. Doe)"
    page = _page(settings, text)
    assert [f.kind for f in page.flags] == [CAPTION]
    assert "Boats at dawn" not in page.clean_text


def test_given_caption_pasted_into_body_is_flagged(settings: Settings) -> None:
    caption = "Volunteers unload sacks of rice at the quay"
    text = f"{caption}\nThe first paragraph of the story, with enough words to be a paragraph.\n{caption}"
    page = _page(settings, text, captions=(caption,))
    assert [(f.kind, f.count) for f in page.flags] == [(REPEATED_CAPTION, 2)]


def test_body_paragraphs_mentioning_photos_are_not_captions() -> None:
    assert not has_credit_cue("The agency said a photo by the ministry showed the damage clearly.")
    assert has_credit_cue("Rescuers at work. Photo: Jane Roe")
    assert has_credit_cue("Rescuers at work (Getty Images)")


def test_long_repeated_paragraph_keeps_one_copy(settings: Settings) -> None:
    long = " ".join(["word"] * 10 + PARAGRAPHS[0].split())
    page = _page(settings, f"{long}\n{long}\nAn ending line of the article with several words.")
    assert page.flags[0].kind == REPEATED_BLOCK
    assert page.clean_text.count(long) == 1


def test_furniture_blocks_become_boilerplate_flags_with_their_count(settings: Settings) -> None:
    page = _page(settings, f"{PARAGRAPHS[0]}\nRead More")
    flags = boilerplate_flags(page.blocks, [1, 2], [False, True], [0, 5])
    assert [(f.kind, f.text, f.pages) for f in flags] == [(BOILERPLATE, "Read More", 5)]
    assert boilerplate_flags(page.blocks, [1, 2], [False, False], [0, 0]) == []


lines = st.lists(
    st.sampled_from(
        ["", "Alpha beta gamma delta epsilon.", "(Photo: X) caption", "Read More", "ß ﬁ x"]
    )
    | st.text(max_size=40),
    max_size=12,
)


@given(lines)
def test_spans_always_point_at_the_flagged_text(parts: list[str]) -> None:
    settings = Settings()
    text = "\n".join(parts)
    page = _page(settings, text)
    for block in split_blocks(text):
        assert text[block.start : block.end] == block.text
    for flag in page.flags:
        assert flag.count == len(flag.spans)
        for a, b in flag.spans:
            assert 0 <= a < b <= len(text)


def test_related_link_cues_mark_list_entries_and_datelines_do_not() -> None:
    lines = [
        "MORE: Council confirms new cycle lanes",
        "Read More: Council confirms new cycle lanes",
        "Also read - Council confirms new cycle lanes",
        "2. Council confirms new cycle lanes",
        "NEW DELHI: The council confirmed new cycle lanes on Monday.",
        "More than sixty volunteers replanted the orchard.",
    ]
    blocks = split_blocks("\n".join(lines))
    assert [b.listed for b in blocks] == [True, True, True, True, False, False]
    assert len({b.key for b in blocks[:4]}) == 1  # the cue is layout, like a rank
