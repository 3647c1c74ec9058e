"""Certificates without Moodle: the codes, the template, and the PDF as a reader sees it (rendered to PNG)."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mintqo_lms.certificates import (CODE_ALPHABET, CODE_DATA_SYMBOLS, CertificateError, check_symbol, format_code,
                                     german_date, load_certificate_template, message_text, new_code, normalise_code,
                                     render_pdf, verify_url)
from mintqo_lms.templates import TemplateError, templates_dir

MODULES = ["Kick-off-Workshop (zwei Tage, Präsenz)", "Vertiefung Wirkungslogik", "Vertiefung Wirkungsmessung",
           "Vertiefung Storytelling", "Transfer-Workshop (zwei Tage, Präsenz)",
           "Den regionalen Workshop-Zyklus durchführen"]
ISSUED = 1763900000  # 23 November 2025, 13:13 in Berlin


# -- codes ------------------------------------------------------------------------------------------

def test_codes_carry_at_least_50_random_bits_and_a_check_symbol():
    assert CODE_DATA_SYMBOLS * math.log2(len(CODE_ALPHABET)) >= 50
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert len(code) == 14 and code.count("-") == 2
        symbols = code.replace("-", "")
        assert set(symbols) <= set(CODE_ALPHABET)
        assert check_symbol(symbols[:-1]) == symbols[-1]
        assert normalise_code(code) == code


def test_a_code_is_read_the_forgiving_way():
    code = format_code("B021Q3H3ZQG" + check_symbol("B021Q3H3ZQG"))
    assert normalise_code(code.lower()) == code
    assert normalise_code(" " + code.replace("-", " ") + "\n") == code
    assert normalise_code(code.replace("0", "O").replace("1", "l")) == code   # O reads as 0, l as 1
    assert normalise_code(code.replace("-", "")) == code
    assert normalise_code("") is None and normalise_code("ABC") is None and normalise_code(code + "X") is None


def test_every_single_typo_and_every_swap_of_neighbours_reads_as_no_code():
    payload = "K7QM2XVD93H"
    code = payload + check_symbol(payload)
    typos = 0
    for position in range(len(code)):
        for symbol in CODE_ALPHABET:
            if symbol == code[position]:
                continue
            typo = code[:position] + symbol + code[position + 1:]
            assert normalise_code(typo) is None, typo
            typos += 1
    assert typos == len(code) * (len(CODE_ALPHABET) - 1)
    for position in range(len(code) - 1):
        swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
        if swapped != code and {code[position], code[position + 1]} != {"0", "Z"}:  # Luhn mod 32's one blind spot
            assert normalise_code(swapped) is None, swapped


def test_dates_are_german():
    assert german_date(ISSUED) == "23. November 2025"
    assert german_date(1741000000) == "3. März 2025"


# -- the template -----------------------------------------------------------------------------------

def copy_templates(tmp_path: Path) -> Path:
    root = tmp_path / "lms_templates"
    shutil.copytree(templates_dir(), root)
    return root


def edit_template(root: Path, change) -> None:
    file = root / "certificate" / "certificate.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_the_shipped_template_is_valid_german_data():
    template = load_certificate_template()
    assert template.issuer == "Geschäftsstelle der MINT-Qualitätsoffensive"
    assert any(block.verification for block in template.blocks)
    assert any("Teilnahmebescheinigung" in block.text for block in template.blocks)


def test_a_template_mistake_names_file_path_and_line(tmp_path):
    root = copy_templates(tmp_path)
    edit_template(root, lambda d: d["blocks"][2].update(text="{vorname}"))
    with pytest.raises(TemplateError) as info:
        load_certificate_template(root)
    assert info.value.file.endswith("certificate/certificate.yaml")
    assert info.value.path == "blocks[2].text" and info.value.line
    assert "unknown placeholder {vorname}" in str(info.value)

    root = copy_templates(tmp_path / "b")
    edit_template(root, lambda d: d.update(blocks=[b for b in d["blocks"] if not b.get("verification")]))
    with pytest.raises(TemplateError, match=r"blocks: exactly one block must be the verification"):
        load_certificate_template(root)

    root = copy_templates(tmp_path / "c")
    edit_template(root, lambda d: d["blocks"][0].update(farbe="rot"))
    with pytest.raises(TemplateError, match=r"blocks\[0\]\.farbe: unknown field 'farbe'"):
        load_certificate_template(root)


def test_the_message_escapes_the_name():
    text = message_text(load_certificate_template(), name="<b>Eva</b> Groß & Co", cohort="2025", issued_at=ISSUED,
                        code="K7QM-2XVD-93HC", url="https://moodle.example.org/local/mintqo/verify.php?code=K7QM-2XVD-93HC")
    assert "<b>Eva</b>" not in text and "&lt;b&gt;Eva&lt;/b&gt; Groß &amp; Co" in text
    assert "K7QM-2XVD-93HC" in text and "23. November 2025" in text


# -- the PDF as a reader sees it -------------------------------------------------------------------

NAME = "Jürgen Größe-Übermaß"
NETWORK = "zdi-Netzwerk Ruhr & Emscher – Süd"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The certificate rendered with umlauts everywhere, as PDF, as text and as a 150 dpi PNG page."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is needed: .ci/run installs it")
    out = tmp_path_factory.mktemp("pdf")
    code = new_code()
    url = verify_url("https://moodle.example.org", code)
    data = render_pdf(load_certificate_template(), name=NAME, network=NETWORK, cohort="2025-herbst",
                      modules=MODULES, issued_at=ISSUED, code=code, url=url)
    pdf = out / "zertifikat.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(out / "page")], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return {"pdf": pdf, "pages": sorted(out.glob("page*.png")), "text": text, "code": code, "url": url,
            "bbox": subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True,
                                   text=True).stdout}


def test_the_pdf_is_one_page_with_every_field_and_umlauts(rendered):
    assert len(rendered["pages"]) == 1
    text = " ".join(rendered["text"].split())
    for expected in (NAME, NETWORK, "2025-herbst", "Teilnahmebescheinigung", "23. November 2025",
                     "Geschäftsstelle der MINT-Qualitätsoffensive", rendered["code"], rendered["url"], *MODULES):
        assert expected in text, expected


def test_nothing_is_cut_off(rendered):
    """Every word lies inside the page margins, and the strip outside the frame is blank paper."""
    import re

    from PIL import Image

    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', rendered["bbox"])
    width, height = float(page.group(1)), float(page.group(2))
    margin = 15 / 25.4 * 72   # 15 mm: inside the 20 mm margin, with room for rounding
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', rendered["bbox"])
    assert len(words) > 80
    for x0, y0, x1, y1 in ((float(v) for v in w) for w in words):
        assert margin <= x0 < x1 <= width - margin and margin <= y0 < y1 <= height - margin
    image = Image.open(rendered["pages"][0]).convert("L")
    strip = round(6 / 25.4 * 150)   # the outer 6 mm (the frame starts at 8 mm)
    w, h = image.size
    for box in ((0, 0, w, strip), (0, h - strip, w, h), (0, 0, strip, h), (w - strip, 0, w, h)):
        assert image.crop(box).getextrema()[0] > 250, box
    assert image.getextrema()[0] < 50   # and there is ink on the page


def test_the_qr_code_decodes_to_the_verify_url(rendered):
    import zxingcpp
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(rendered["pages"][0]))
    assert [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode] == [rendered["url"]]
    assert rendered["url"] == f"https://moodle.example.org/local/mintqo/verify.php?code={rendered['code']}"


def test_a_certificate_that_cannot_fit_on_one_page_is_refused(tmp_path):
    with pytest.raises(CertificateError, match="does not fit on one page"):
        render_pdf(load_certificate_template(), name="Ada Lovelace", network="MINT-Region Trier", cohort="2025",
                   modules=[f"Modul {n}: eine lange Vertiefung mit vielen Worten" for n in range(40)],
                   issued_at=ISSUED, code="K7QM-2XVD-93HC", url="https://moodle.example.org/v")


# -- the fonts: a small cut of DejaVu Sans, the full font for any character outside it ---------------

def embedded_fonts(pdf: bytes) -> list:
    """The TrueType fonts embedded in a PDF of fpdf2 (each FontFile2 stream, inflated)."""
    import io
    import re
    import zlib

    from fontTools.ttLib import TTFont

    fonts = []
    for ref in re.finditer(rb"/FontFile2 (\d+) 0 R", pdf):
        obj = re.search(rb"(?:^|\n)%s 0 obj\s*<<(.*?)>>\s*stream\r?\n" % ref.group(1), pdf, re.S)
        length = int(re.search(rb"/Length (\d+)", obj.group(1)).group(1))
        fonts.append(TTFont(io.BytesIO(zlib.decompress(pdf[obj.end():obj.end() + length]))))
    return fonts


def drawn(font, char: str) -> bool:
    """The font has a glyph with an outline for ``char`` (not the empty box of a missing one)."""
    glyph = (font.getBestCmap() or {}).get(ord(char))
    return glyph is not None and glyph != ".notdef" and font["glyf"][glyph].numberOfContours != 0


def certificate_for(name: str) -> bytes:
    code = "K7QM-2XVD-93HC"
    return render_pdf(load_certificate_template(), name=name, network=NETWORK, cohort="2025", modules=MODULES,
                      issued_at=ISSUED, code=code, url=verify_url("https://moodle.example.org", code))


@pytest.mark.parametrize("name", [NAME, "Zoë Ångström-Łukasiewicz", "Şükrü Çelik", "Ελένη Παπαδοπούλου",
                                  "Анна Иванова", "Nguyễn Thị Hồng"])
def test_names_in_latin_greek_and_cyrillic_are_drawn_with_the_small_fonts(name, caplog):
    from mintqo_lms.certificates import SMALL_FONTS, certificate_fonts

    assert certificate_fonts([name]) == SMALL_FONTS
    data = certificate_for(name)
    bold = [font for font in embedded_fonts(data) if "Bold" in font["name"].getBestFullName()]
    assert len(bold) == 1 and all(drawn(bold[0], char) for char in name if not char.isspace())
    assert "missing the following glyphs" not in caplog.text


def test_a_character_outside_the_small_fonts_switches_the_certificate_to_the_full_fonts(tmp_path, caplog):
    from mintqo_lms.certificates import FULL_FONTS, SMALL_FONTS, certificate_fonts

    name = "Nino ჯანელიძე-Ἀθηνᾶ"     # Georgian and Greek Extended: in DejaVu Sans, not in the small cut
    assert certificate_fonts([name]) == FULL_FONTS and certificate_fonts(["Nino Jaselidse"]) == SMALL_FONTS
    assert certificate_fonts(["Netz ✓"]) == FULL_FONTS     # any text of the certificate, not only the name
    data = certificate_for(name)
    bold = [font for font in embedded_fonts(data) if "Bold" in font["name"].getBestFullName()]
    assert len(bold) == 1 and all(drawn(bold[0], char) for char in name if not char.isspace())
    assert "missing the following glyphs" not in caplog.text
    pdf = tmp_path / "zertifikat.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert name in text


def test_the_small_fonts_are_the_full_fonts_cut_by_the_script_beside_them(tmp_path):
    """The shipped files are what ``make_subsets.py`` makes, and every character they have is the full font's
    glyph with the full font's width (a certificate lays out the same with either)."""
    from fontTools.ttLib import TTFont

    from mintqo_lms.certificates import FONTS
    from mintqo_lms.fonts import make_subsets

    make_subsets.main(tmp_path)
    for full, small in make_subsets.FONTS.items():
        shipped, made, original = TTFont(FONTS / small), TTFont(tmp_path / small), TTFont(FONTS / full)
        cmap, full_cmap = shipped.getBestCmap(), original.getBestCmap()
        assert cmap == made.getBestCmap()
        assert set(cmap) == {code for code in make_subsets.codepoints() if code in full_cmap}
        for code, glyph in cmap.items():
            assert glyph == full_cmap[code]
            assert shipped["hmtx"][glyph] == original["hmtx"][glyph] == made["hmtx"][glyph]
            assert shipped["glyf"][glyph].numberOfContours == original["glyf"][glyph].numberOfContours
        assert "Bitstream" not in shipped["name"].getBestFamilyName() + shipped["name"].getBestFullName()
