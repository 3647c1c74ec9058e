"""Make DejaVuSans-LGC.ttf and DejaVuSans-Bold-LGC.ttf: DejaVu Sans cut down to what names and German texts use.

    python mintqo_lms/fonts/make_subsets.py      # from the checkout's root; writes beside this file

Why: fpdf2 parses and subsets the whole font for every certificate; DejaVu Sans has 6,253 glyphs, the cut
about a quarter, so a certificate is drawn in half the time. A certificate whose text has a character outside
the cut is drawn with the full font (``mintqo_lms.certificates``), so no name ever lacks a glyph.

Kept: the characters of RANGES (Latin with every extension, modifier letters, combining accents, Greek,
Cyrillic, general punctuation, currency and letter-like symbols, the Latin ligatures) with their outlines,
widths and names unchanged. Dropped: the other glyphs, the hinting instructions (a fifth of the bytes to
parse; renderers hint outlines on their own) and tables fpdf2 drops from every embedded font anyway or never
reads (layout: GSUB, GPOS, GDEF, kern; MATH; FontForge's timestamp FFTM). The names stay "DejaVu Sans": the
licence (LICENSE) allows modified copies under any name without "Bitstream" or "Vera".
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
FONTS = {"DejaVuSans.ttf": "DejaVuSans-LGC.ttf", "DejaVuSans-Bold.ttf": "DejaVuSans-Bold-LGC.ttf"}
RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x02B0, 0x036F),  # spacing modifier letters, combining diacritical marks (names typed decomposed)
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x052F),  # Cyrillic and its supplement
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # general punctuation („…“ – — • …)
    (0x20A0, 0x20CF),  # currency symbols
    (0x2100, 0x214F),  # letter-like symbols (№ ™)
    (0x2212, 0x2212),  # minus sign
    (0xFB00, 0xFB06),  # Latin ligatures
)


def codepoints() -> list[int]:
    return [code for first, last in RANGES for code in range(first, last + 1)]


def make_subset(source: Path, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.glyph_names = True          # fpdf2 maps characters to glyphs by name
    options.hinting = False           # a third of the bytes; viewers and printers hint on their own
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM"]
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints())
    subsetter.subset(font)
    font.save(target)


def main(folder: Path = HERE) -> None:
    for source, target in FONTS.items():
        make_subset(HERE / source, folder / target)
        print(f"wrote {folder / target}")


if __name__ == "__main__":
    main()
