"""Dialogue tables: header detection, column mapping, Yarn string tables, malformed rows."""

from __future__ import annotations

import pytest

from ttsbuild.core.errors import SourceError
from ttsbuild.sources import parse_source
from ttsbuild.sources.common import default_options
from ttsbuild.sources.script import Unspoken, Utterance
from ttsbuild.sources.table import parse_table


def rows(text: str, path: str = "t.csv", **options):
    return [
        (u.uid, u.speaker, u.language, u.params, u.text)
        for u in parse_table(text, path, default_options(**options))
        if isinstance(u, Utterance)
    ]


@pytest.mark.parametrize(
    "header",
    ["id,character,text", "key,speaker,line", "line_id,name,dialogue", "ID , Character , Text"],
)
def test_common_headers(header):
    assert rows(f"{header}\nq1,Alice,Hello.\n") == [("q1", "alice", None, (), "Hello.")]


def test_column_mapping_and_optional_columns():
    text = "Ref,Who,Say,Lang,Tweak,Director\nr1,Bob,Guten Tag.,de,speed:0.9|seed:4,calm\n"
    mapping = {"id": "ref", "speaker": "Who", "text": "say", "language": "lang", "params": "tweak"}
    assert rows(text, columns=mapping) == [
        ("r1", "bob", "de", (("seed", 4.0), ("speed", 0.9)), "Guten Tag.")
    ]


def test_quotes_embedded_newlines_empty_rows_and_narrator():
    text = 'id,speaker,text\n1,Ann,"Hi, ""you""\nthere."\n\n,,\n2,,The door opens.\n3,Bob,\n'
    assert rows(text) == [
        ("1", "ann", None, (), 'Hi, "you" there.'),
        ("2", "narrator", None, (), "The door opens."),
    ]
    unspoken = [i for i in parse_table(text, "t.csv", default_options()) if isinstance(i, Unspoken)]
    assert unspoken == [Unspoken(7, "bob", "", "no text", "3")]  # an id without words: listed


def test_speaker_inside_text_and_yarn_tags():
    text = 'text\n"Ship: Hey, friend. #line:5837f2 #happy"\nAnything new?\nNote this: it is 5:30.\n'
    assert rows(text) == [
        ("line:5837f2", "ship", None, (), "Hey, friend."),
        ("", "narrator", None, (), "Anything new?"),
        ("", "note this", None, (), "it is 5:30."),
    ]


def test_tsv_and_delimiter():
    assert rows("id\tspeaker\ttext\n1\tAnn\tHi, all.\n", "t.tsv") == [
        ("1", "ann", None, (), "Hi, all.")
    ]
    assert rows("id;speaker;text\n1;Ann;Hi, all.\n", delimiter=";") == [
        ("1", "ann", None, (), "Hi, all.")
    ]


def test_non_utf8_table_is_decoded_like_subtitles():
    text = (
        'id,speaker,text\n1,Zoë,"Café crème, s\'il vous plaît."\n'
        '2,Zoë,"Où est la bibliothèque? Très bien, merci. À bientôt, cher ami."\n'
        '3,René,"Je suis désolé, c\'était une très mauvaise idée."\n'
    )
    detected = parse_source(text.encode("cp1252"), "table", "t.csv", default_options())
    assert [(u.speaker, u.text) for u in detected][:1] == [("zoë", "Café crème, s'il vous plaît.")]
    told = parse_source(text.encode("cp1252"), "table", "t.csv", default_options(encoding="cp1252"))
    assert (
        told == detected == parse_source(text.encode("utf-16"), "table", "t.csv", default_options())
    )


@pytest.mark.parametrize(
    "text,message,line",
    [
        ("id,who\n1,Ann\n", "no text column: the header, split at ',', has 'id', 'who'", 1),
        ("", "the table is empty", 1),
        ("id,text\n1,Hi\n2,Ho,extra\n", "this row has 3 fields, the header has 2", 3),
        ('id,text\n1,"never closed\n2,ok\n', "malformed", 2),
        ("id,text\n1,Hi\n1,Ho\n", "id '1' is used twice (first on line 2)", 3),
        (
            "id,text,language\n1,Hi,english\n",
            "'english' in the language column is not a language code",
            2,
        ),
        ("id,text,params\n1,Hi,fast\n", "bad parameter 'fast' in the params column", 2),
    ],
)
def test_malformed_tables(text, message, line):
    with pytest.raises(SourceError) as err:
        parse_table(text, "ep.csv", default_options())
    assert message in str(err.value)
    assert (err.value.path, err.value.line) == ("ep.csv", line)


def test_mapped_column_missing():
    with pytest.raises(
        SourceError, match="columns.text is 'Line Text', but the header has no such column"
    ):
        parse_table("id,text\n1,Hi\n", "ep.csv", default_options(columns={"text": "Line Text"}))
