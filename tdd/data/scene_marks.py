"""Right and wrong, word by word: a caption of the scenes grammar checked against the true caption.

Each content word of the answer — count, size, colour, shape, relation — is compared with the same
attribute of the truth; function words ("there", "is", "are", padding) are not marked. The truth is
read with :func:`tdd.data.scenes.parse_caption` and turned to face the same way as the answer
("X left of Y" and "Y right of X" are one scene), so a correct paraphrase is all right. The answer
need not be grammatical: its words are read in order, a group's attributes before the relation
belong to the first group, those after it to the second.
"""

from __future__ import annotations

from tdd.data.scenes import COUNTS, INVERSE, PLURAL, RELATIONS, SIZES, Group, SceneDescription, parse_caption

FUNCTION_WORDS = {"there", "is", "are"}
_COUNT_OF = {word: n for n, word in COUNTS.items()}
_SHAPE_OF = {**{s: s for s in PLURAL}, **{p: s for s, p in PLURAL.items()}}


def _relation_at(words: list[str], i: int) -> str | None:
    """The relation phrase that starts at word ``i``, if any."""
    for relation in RELATIONS:
        phrase = relation.split()
        if words[i : i + len(phrase)] == phrase:
            return relation
    return None


def _facing(truth: SceneDescription, relation: str | None) -> SceneDescription:
    """The truth stated with ``relation`` when it can be (its groups swapped for the inverse)."""
    if truth.second is not None and relation is not None and truth.relation == INVERSE[relation]:
        return SceneDescription(truth.second, relation, truth.first)
    return truth


def _attribute_ok(word: str, group: Group | None) -> bool:
    if group is None:
        return False
    if word in _COUNT_OF:
        return _COUNT_OF[word] == group.count
    if word in SIZES:
        return word == group.size
    if word in _SHAPE_OF:
        return _SHAPE_OF[word] == group.shape  # the number is the count word's to get right
    return word == group.colour  # the only content words left are colours


def mark_words(answer: str, truth: str) -> list[tuple[str, bool | None]]:
    """``[(word, mark), …]`` for every word of ``answer``: ``True`` where it agrees with ``truth``,
    ``False`` where it does not, ``None`` for function words.

    Raises:
        CaptionParseError: when ``truth`` is not a caption of the grammar.
    """
    words = answer.lower().split()
    relation_index = next((i for i in range(len(words)) if _relation_at(words, i)), None)
    relation = _relation_at(words, relation_index) if relation_index is not None else None
    facing = _facing(parse_caption(truth), relation)
    if relation is None and facing.second is not None:  # one group named: the truth's group it fits best
        alone = [_marks(words, None, SceneDescription(g)) for g in facing.groups()]
        return max(alone, key=lambda marks: sum(m is True for _, m in marks))
    return _marks(words, relation_index, facing)


def _marks(words: list[str], relation_index: int | None, facing: SceneDescription) -> list[tuple[str, bool | None]]:
    relation = _relation_at(words, relation_index) if relation_index is not None else None
    marks: list[tuple[str, bool | None]] = []
    i = 0
    while i < len(words):
        if i == relation_index and relation is not None:
            n = len(relation.split())
            marks += [(w, relation == facing.relation) for w in words[i : i + n]]
            i += n
            continue
        word = words[i]
        if word in FUNCTION_WORDS:
            marks.append((word, None))
        else:
            second = relation_index is not None and i > relation_index
            marks.append((word, _attribute_ok(word, facing.second if second else facing.first)))
        i += 1
    return marks


def missing_relation(answer: str, truth: str) -> bool:
    """True when the truth relates two groups and the answer names only one (nothing to mark red)."""
    words = answer.lower().split()
    has_relation = any(_relation_at(words, i) for i in range(len(words)))
    return parse_caption(truth).second is not None and not has_relation


def answer_is_right(answer: str, truth: str) -> bool:
    """Every word of ``answer`` marked right against ``truth`` (paraphrases and any of the four phrasings accepted),
    and no relation missing: a right answer however it is phrased."""
    return all(ok is not False for _, ok in mark_words(answer, truth)) and not missing_relation(answer, truth)
