"""Shared fixtures: a tiny real-Japanese corpus, an index directory, and an environment that keeps
every test away from the user's own cache, corpus and index."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import cli
from index import store

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CORPUS = REPO / "corpus"

NOTES = {
    "python/gil.md": """---
title: "PythonのGlobal Interpreter Lock (GIL) について"
date: 2019-05-01
tags: [python, gil]
url: https://example.com/gil
---
CPythonのインタープリターは、一度にひとつのスレッドしかバイトコードを実行できない。この仕組みをGlobal Interpreter Lock (GIL) という。
そのため、CPUを使う処理をスレッドで並列に走らせても速くならない。
I/O待ちの多い処理なら、スレッドでも効果がある。
""",
    "go/http-client.md": """---
title: Go言語のhttp.Clientの使い方
tags: [go]
---
Goでは、net/httpパッケージのhttp.Clientを使ってHTTPリクエストを送る。タイムアウトを設定しないと、応答が返らないときに永遠に待ってしまう。
クライアントは使い回すのがよい。
""",
    "go/cross-compile.md": """---
title: Go 1.5のクロスコンパイル
---
Go 1.5からは、環境変数GOOSとGOARCHを指定するだけで、他のOS向けのバイナリを作れるようになった。以前はCコンパイラが必要だった。
""",
    "openstack/oslo.md": """---
title: oslo_serviceとeventlet
---
OpenStackの各サービスは、oslo_serviceを使ってプロセスを起動する。oslo_serviceの中ではeventletのグリーンスレッドが動いている。
""",
    "tools/apache-70007.md": """# Apache HTTPDの70007エラー

Apacheのエラーログに70007が出たら、タイムアウトを疑う。70007はAPRのエラーコードで、APR_TIMEUPを意味する。
""",
    "misc/server.md": """---
title: サーバーの選び方
tags: サーバ, ハードウェア
---
サーバーを選ぶときは、メモリの量とディスクの速さを見る。
仮想マシンを何台も動かすなら、コア数の多いCPUがよい。
""",
    "misc/markup.md": """---
title: Markdownの書き方メモ
---
# 見出しも本文になる

**太字**と*斜体*と`インラインコード`と[リンクの文字](https://example.com/link)を使う。

<div class="warning">
HTMLブロックの中の注意書き。
</div>

| 項目 | 説明 |
| --- | --- |
| 表 | 表の中の文章 |

```python
print("コードブロック")
```
""",
    "misc/fullwidth.txt": "ＤｏｃｋｅｒとＫｕｂｅｒｎｅｔｅｓの全角のメモ。チケット１２３４５番を参照。\n",
}


def write_note(root: Path, rel: str, content: str | bytes) -> Path:
    """Write one note file under ``root`` (bytes as they are, text as UTF-8)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def bump_mtime(path: Path, seconds: int = 10):
    """Move a file's mtime forward, so an edit is seen whatever the clock's granularity."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test reads or writes the user's cache, corpus or index: everything lives in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NOTEBOT_INDEX", str(tmp_path / "index"))
    monkeypatch.delenv("NOTEBOT_CORPUS", raising=False)
    monkeypatch.delenv("NOTEBOT_MIN_CONFIDENCE", raising=False)
    monkeypatch.delenv("NOTEBOT_ACCESS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A fresh copy of the tiny corpus (NOTES) in tmp_path/corpus."""
    root = tmp_path / "corpus"
    for rel, text in NOTES.items():
        write_note(root, rel, text)
    return root


@pytest.fixture
def index_dir(tmp_path) -> Path:
    """Where the index lives (also NOTEBOT_INDEX)."""
    return tmp_path / "index"


@pytest.fixture
def built(corpus, index_dir) -> Path:
    """The tiny corpus, built into index_dir; returns index_dir."""
    store.build(corpus, index_dir)
    return index_dir


@dataclass
class Result:
    rc: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run ``notebot`` in-process: run_cli(argv, stdin=bytes|str|None) -> Result."""

    def run(argv, stdin: bytes | str | None = None) -> Result:
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin or b""),
                                                           encoding="utf-8"))
        capsys.readouterr()
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return Result(rc, out, err)

    return run


# The ``notebot`` command as installed, as users run it (``python -m bot`` would put the working
# directory first on the import path, where an index folder named ``index`` would be found).
NOTEBOT = [str(Path(sys.executable).with_name("notebot"))]


def run_module(*args, stdin: bytes | None = None, cwd=None, timeout=120,
               env=None) -> subprocess.CompletedProcess:
    """Run ``notebot ARGS`` as a real process (bytes in, bytes out)."""
    return subprocess.run([*NOTEBOT, *map(os.fsencode, args)],
                          input=stdin if stdin is not None else b"", capture_output=True,
                          cwd=cwd, timeout=timeout, env=env)


# Tests that start processes, containers or terminals: `pytest -m "not slow"` is the fast loop.
SLOW_MODULES = {"test_container", "test_slack_cli"}
SLOW_FIXTURES = {"spawn"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__ in SLOW_MODULES or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
