"""Search quality levers that a user notices: synonyms, katakana/English, question words, and
`notebot eval` on the shipped corpus."""
import pytest

from bot.cli import main
from conftest import REPO, SHIPPED_CORPUS
from index import generation, store
from index.analyzer import Analyzer
from index.evaluation import parse
from index.search import Searcher
from index.synonyms import SHIPPED, Synonyms
from index.synonyms import parse as parse_synonyms

NOTES = {
    "db.md": "# データベースの移行\n\nPostgreSQLからMySQLへの移行で困ったこと。",
    "cache.md": "# キャッシュの設計\n\nRedisをキャッシュに使うときの有効期限の決め方。",
    "k8s.md": "# Kubernetesの監視\n\nPrometheusでPodのメモリを見る。",
    "server.md": "# サーバーの再起動\n\n夜間にサーバーを再起動する手順をまとめた。",
    "howto.md": "# 方法論\n\n何をどう教えるかの方法について。",
}


@pytest.fixture()
def searcher(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in NOTES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    store.build(corpus, tmp_path / "index")
    data = generation.load(tmp_path / "index")
    yield Searcher(data)
    data.close()


@pytest.mark.parametrize("question, expected", [
    ("DBについて", "db.md"),                    # abbreviation, from the shipped synonyms
    ("k8s", "k8s.md"),
    ("cache design", "cache.md"),               # English question, katakana note (synonym)
    ("How do I restart the server?", "server.md"),  # UniDic's gloss: サーバー → server
    ("サーバの再起動", "server.md"),              # long-vowel variant
    ("Redisって何？どうやるの？", "cache.md"),  # 何, どう must not pull in the note about 方法
])
def test_questions_find_their_note(searcher, question, expected):
    hits = searcher.search(question, k=3)
    assert hits and hits[0].path == expected, [h.path for h in hits]


def test_synonyms_file_groups_and_comments():
    text = "# comment\nDB, データベース  # trailing comment\nlonely\n\nk8s,Kubernetes\n"
    assert parse_synonyms(text) == [["DB", "データベース"], ["k8s", "Kubernetes"]]


def test_synonyms_expand_only_when_a_whole_spelling_is_asked():
    syn = Synonyms([["仮想マシン", "VM"]], Analyzer())
    assert "vm" in syn.expand({"仮想", "マシン", "machine"})
    assert syn.expand({"仮想"}) == {}


def test_the_shipped_synonyms_file_is_packaged_and_readable():
    assert len(parse_synonyms(SHIPPED.read_text(encoding="utf-8"))) > 50


def test_eval_file_format_reports_bad_lines():
    cases, problems = parse("# c\nGILって何？\tpython/gil.md\nno tab here\n\n")
    assert [(c.question, c.expected, c.line) for c in cases] == [("GILって何？", "python/gil.md", 2)]
    assert problems == ["line 3: expected 'question<TAB>note path or title'"]


def test_notebot_eval_prints_the_figures_and_the_misses(tmp_path, capsys):
    questions = tmp_path / "q.tsv"
    questions.write_text("GILって何？\tpython/gil.md\n"
                         "Goのクロスコンパイル\tGo 1.5で簡単に構築できるようになるクロスコンパイル環境\n"
                         "GILって何？\tgo/cross-compile.md\n", encoding="utf-8")
    code = main(["eval", str(questions), "--corpus", str(SHIPPED_CORPUS), "--index", str(tmp_path / "ix")])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 questions: Hit@1 0.667" in out
    assert "miss (line 3" in out and "first came python/gil.md" in out


def test_notebot_eval_with_no_cases_is_a_usage_error(tmp_path, capsys):
    empty = tmp_path / "q.tsv"
    empty.write_text("# nothing\n", encoding="utf-8")
    assert main(["eval", str(empty), "--corpus", str(SHIPPED_CORPUS), "--index", str(tmp_path / "ix")]) == 2
    assert "no 'question<TAB>expected' lines" in capsys.readouterr().err


def test_the_shipped_question_set_meets_its_goal(tmp_path, capsys):
    """bench/questions.tsv on the shipped corpus: the figures the README quotes."""
    assert main(["eval", str(REPO / "bench" / "questions.tsv"), "--corpus", str(SHIPPED_CORPUS),
                 "--index", str(tmp_path / "ix")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    hit1 = float(first.split("Hit@1 ")[1].split()[0])
    assert hit1 >= 0.95, first


def test_a_teams_own_synonyms_file(tmp_path, monkeypatch, capsys):
    own = tmp_path / "synonyms.txt"
    own.write_text("ジル, GIL\n", encoding="utf-8")
    monkeypatch.setenv("NOTEBOT_SYNONYMS", str(own))
    assert main(["ask", "ジル", "--json", "--corpus", str(SHIPPED_CORPUS),
                 "--index", str(tmp_path / "ix")]) == 0
    assert '"path": "python/gil.md"' in capsys.readouterr().out.splitlines()[0].split("}")[0]


def test_a_missing_synonyms_file_is_a_configuration_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NOTEBOT_SYNONYMS", str(tmp_path / "nope.txt"))
    assert main(["ask", "GIL", "--corpus", str(SHIPPED_CORPUS),
                 "--index", str(tmp_path / "ix")]) == 2
    assert "NOTEBOT_SYNONYMS" in capsys.readouterr().err
