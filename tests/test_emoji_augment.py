"""The emoji style augmentation (tdd.data.emoji_augment) on a synthetic glyph: no source needed."""

import torch

from tdd.data.emoji_augment import EmojiAugment, line_art, on_white, outline, silhouette


def glyph(size: int = 32) -> torch.Tensor:
    """A red disc with a blue square inside, on a transparent background: RGBA (4, S, S) in [0, 1]."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2).float()
    square = ((yy - size / 2).abs() < size / 8).float() * ((xx - size / 2).abs() < size / 8).float()
    rgb = torch.stack([disc * (1 - square), torch.zeros_like(disc), square])
    return torch.cat([rgb, disc[None]])


def test_no_augmentation_is_the_glyph_on_white():
    g = glyph()
    out = EmojiAugment(p=0)((g * 255).round().to(torch.uint8))
    assert out.shape == (3, 32, 32) and torch.allclose(out, on_white(g) * 2 - 1, atol=1 / 255)
    assert out[:, 0, 0].tolist() == [1.0, 1.0, 1.0]  # the background is white


def test_the_style_maps_draw_lines_where_the_glyph_has_edges():
    g = glyph()
    inside, edge, outside = (16, 16), (16, 5), (1, 1)
    art = line_art(g)
    assert set(art.unique().tolist()) <= {0.0, 1.0}  # black on white
    assert art[0][edge] == 0 and art[0][outside] == 1 and art[0][inside] == 1
    lined = outline(g)
    assert on_white(lined)[:, edge[0], edge[1]].sum() == 0  # a black line at the silhouette
    assert torch.allclose(lined[:, 16, 16], g[:, 16, 16])  # the fill inside is kept
    black = silhouette(g)
    assert black[0][16, 9] == 0 and black[0][outside] == 1  # filled black, the paper white


def test_augmentation_is_random_in_range_and_repeatable_from_a_seed():
    aug, g = EmojiAugment(), (glyph() * 255).to(torch.uint8)
    draws = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        draws.append(torch.stack([aug(g) for _ in range(8)]))
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])
    assert draws[0].shape == (8, 3, 32, 32) and draws[0].min() >= -1 and draws[0].max() <= 1
