"""--database accepts a folder, redis://HOST:PORT[/DB] or none; anything else is bad usage (exit
status 2, one line): a regular file (which silently saved nothing), other schemes and capitals
(which became local folders named 'rediss:'), '' (the current folder), a port that is not one."""

from trigrad.properties.cli import main
from trigrad.properties.fuzzing import open_database

from trigrad_cli import CATALOGUE, one_line_usage_error, trigrad

FUZZ = ["fuzz", f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--max-examples", "3", "--quiet", "--database"]


def test_only_a_folder_a_redis_url_or_none_is_a_database(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a URL taken for a folder name would appear here
    one_line_usage_error(trigrad(*FUZZ, "/etc/hostname", timeout=60), "--database /etc/hostname is not a folder")
    bad = {"rediss://127.0.0.1:6379": "only redis:// (in lower case) names a server",
           "REDIS://127.0.0.1:6379": "only redis:// (in lower case) names a server",
           "http://example.org/db": "only redis://",
           "": "--database needs a folder name",
           "redis://127.0.0.1:notaport": "is not redis://HOST:PORT[/DB]",
           "redis://127.0.0.1:99999": "is not redis://HOST:PORT[/DB]",
           "redis://127.0.0.1:0": "is not redis://HOST:PORT[/DB]",
           "redis://127.0.0.1": "is not redis://HOST:PORT[/DB]",
           "redis://:6379": "is not redis://HOST:PORT[/DB]",
           "redis://127.0.0.1:6379/x": "is not redis://HOST:PORT[/DB]",
           str(tmp_path / "file" / "db"): "is not a folder"}
    (tmp_path / "file").write_text("")
    for url, says in bad.items():
        assert main(FUZZ + [url]) == 2, url
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, (url, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]

    for good in ("none", "NONE", str(tmp_path / "db"), "relative/db"):
        assert main(FUZZ + [good]) == 0, good
    assert open_database("relative/db").path.resolve() == tmp_path / "relative" / "db"
