"""Regenerates the encoded SRT fixtures (BOMs, legacy code pages, line endings).

The text fixtures are written by hand; these are bytes a text editor would mangle:
``python tests/data/srt/make_fixtures.py``.
"""

from pathlib import Path

HERE = Path(__file__).parent

ACCENTED = """1
00:00:01,000 --> 00:00:02,500
Café crème, señor?

2
00:00:03,000 --> 00:00:04,500
Ça va très bien, merci.
"""

CP1252 = """1
00:00:01,000 --> 00:00:03,000
Où est passé le château? Je ne sais pas, répondit-elle.

2
00:00:03,500 --> 00:00:06,000
Ma sœur a déjà préparé le café et les crêpes.

3
00:00:06,500 --> 00:00:09,000
¿Qué pasó, señor? ¡Está muy tranquilo el niño!

4
00:00:09,500 --> 00:00:12,000
L’été dernier, nous étions à la fenêtre – «Très bien», dit-il.
"""

CP1250 = """1
00:00:01,000 --> 00:00:03,000
Příliš žluťoučký kůň úpěl ďábelské ódy.

2
00:00:03,500 --> 00:00:06,000
Zażółć gęślą jaźń, powiedział młody człowiek.

3
00:00:06,500 --> 00:00:09,000
Dobrý den, jak se máte? Děkuji, mám se dobře.

4
00:00:09,500 --> 00:00:12,000
Łódź jest pięknym miastem, ale Kraków też.
"""

PLAIN = """1
00:00:01,000 --> 00:00:02,000
First line.

2
00:00:02,500 --> 00:00:04,000
Second line,
two rows.

3
00:00:04,500 --> 00:00:06,000
Third line.
"""


def main() -> None:
    (HERE / "bom_utf8.srt").write_bytes(b"\xef\xbb\xbf" + ACCENTED.encode("utf-8"))
    (HERE / "utf16le_bom.srt").write_bytes(b"\xff\xfe" + ACCENTED.encode("utf-16-le"))
    (HERE / "utf16be_bom.srt").write_bytes(b"\xfe\xff" + ACCENTED.encode("utf-16-be"))
    (HERE / "utf32le_bom.srt").write_bytes(b"\xff\xfe\x00\x00" + ACCENTED.encode("utf-32-le"))
    (HERE / "utf32be_bom.srt").write_bytes(b"\x00\x00\xfe\xff" + ACCENTED.encode("utf-32-be"))
    (HERE / "cp1252.srt").write_bytes(CP1252.replace("\n", "\r\n").encode("cp1252"))
    (HERE / "cp1250.srt").write_bytes(CP1250.replace("\n", "\r\n").encode("cp1250"))
    (HERE / "crlf.srt").write_bytes(PLAIN.replace("\n", "\r\n").encode())
    (HERE / "cr_only.srt").write_bytes(PLAIN.replace("\n", "\r").encode())


if __name__ == "__main__":
    main()
