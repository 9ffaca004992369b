"""Right and wrong, word by word, against the true caption."""

import pytest

from tdd.data.scene_marks import mark_words, missing_relation
from tdd.data.scenes import CaptionParseError

TRUTH = "a small white cross to the left of a large red circle"


def _marks(answer, truth=TRUTH):
    return [m for _, m in mark_words(answer, truth)]


def test_a_paraphrase_of_the_truth_is_all_right():
    assert all(_marks(TRUTH))
    assert all(m is not False for m in _marks("a large red circle is to the right of a small white cross"))


def test_each_wrong_attribute_is_marked_where_it_stands():
    words = mark_words("a large red circle is to the right of a small red circle", TRUTH)
    wrong = [w for w, m in words if m is False]
    assert wrong == ["red", "circle"] and dict(words)["is"] is None
    assert [
        w for w, m in mark_words("two small white crosses to the left of a large red circle", TRUTH) if m is False
    ] == ["two"]  # fmt: skip — the noun's number is the count word's to get right
    assert not any(_marks("a small white cross above a large red circle")[4:5])  # the relation


def test_one_group_answers_and_ungrammatical_ones():
    assert all(_marks("a large red circle"))  # one of the two groups, named right
    assert missing_relation("a large red circle", TRUTH) and not missing_relation(TRUTH, TRUTH)
    assert _marks("there are a large green circle", "a large green circle") == [None, None, True, True, True, True]
    with pytest.raises(CaptionParseError):
        mark_words("a large red circle", "not a caption")
