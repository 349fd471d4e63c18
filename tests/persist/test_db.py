"""Schema, migrations and roles (DESIGN §7)."""

from __future__ import annotations

import json
import os
import subprocess

import csgp
import pytest

EXPECTED_COLUMNS = {
    "id",
    "applicant_id",
    "champion_score",
    "challenger_score",
    "latency_champion_ms",
    "latency_challenger_ms",
    "decision_diff",
    "timestamp",
    "status",
    "event_id",
    "experiment_id",
    "transport",
    "champion_model",
    "challenger_model",
    "champion_decision",
    "challenger_decision",
    "decision_match",
    "income",
    "loan_amount",
    "credit_history",
    "ingested_at",
    "features",  # 002_features
    "config_version",
    "champion_reasons",  # 003_reasons
    "challenger_reasons",
}
VIEW_COLUMNS = [
    "id",
    "applicant_id",
    "champion_score",
    "challenger_score",
    "latency_champion_ms",
    "latency_challenger_ms",
    "decision_diff",
    "timestamp",
    "status",
]


def test_schema_columns_indexes_and_view(database: csgp.Database) -> None:
    if database.kind == "pg":
        cols = {
            r[0]
            for r in database.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'credit_score_metrics'"
            )
        }
        view = [
            r[0]
            for r in database.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'model_metrics' "
                "ORDER BY ordinal_position"
            )
        ]
        idx = " ".join(
            r[0]
            for r in database.query(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'credit_score_metrics'"
            )
        )
        versions = [
            r[0]
            for r in database.query("SELECT version FROM schema_migrations ORDER BY 1")
        ]
        # 040: the dedup key compares byte for byte
        assert [tuple(r) for r in database.query(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'csg_event_ids' AND column_name = 'event_id'"
        )] == [("C",)]
    else:
        cols = {r[1] for r in database.query("PRAGMA table_info(credit_score_metrics)")}
        view = [r[1] for r in database.query("PRAGMA table_info(model_metrics)")]
        idx = " ".join(
            r[0] or ""
            for r in database.query(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'credit_score_metrics'"
            )
        )
        versions = [
            r[0]
            for r in database.query("SELECT version FROM schema_migrations ORDER BY 1")
        ]
    assert cols == EXPECTED_COLUMNS
    assert view == VIEW_COLUMNS
    assert '("timestamp")' in idx and "(applicant_id" in idx
    assert "experiment_idx" not in idx  # 040: no query needs it, every row paid for it
    assert versions and versions == sorted(set(versions)) and versions[0] == 1
    # Migrating again applies nothing.
    out = csgp.run_cli("migrate", "--db", database.owner_url).stdout
    assert "0 migration(s) applied" in out


def test_app_role_rights(pg_database: csgp.Database) -> None:
    import psycopg

    os.environ["PGPASSFILE"] = csgp.PASSFILE
    denied = [
        "CREATE TABLE evil (a int)",
        "ALTER TABLE credit_score_metrics ADD COLUMN evil int",
        "DROP TABLE credit_score_metrics",
        "DELETE FROM credit_score_metrics",
        "TRUNCATE credit_score_metrics",
        "CREATE INDEX evil ON credit_score_metrics (status)",
        "CREATE VIEW evil AS SELECT 1",
        "CREATE SCHEMA evil",
        "DROP VIEW model_metrics",
        "INSERT INTO schema_migrations (version, name) VALUES (999, 'evil')",
    ]
    for sql in denied:
        with (
            psycopg.connect(pg_database.url, autocommit=True) as con,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            con.execute(sql)
    with psycopg.connect(pg_database.url, autocommit=True) as con:
        assert con.execute("SELECT current_user").fetchone()[0] == "csg_app"
        con.execute(
            "CREATE TEMP TABLE ok_stage (a int)"
        )  # the COPY staging table needs this
        assert con.execute("SELECT count(*) FROM model_metrics").fetchone()[0] == 0
        # Neither superuser nor able to create roles or databases.
        row = con.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False)


def test_service_refuses_unmigrated_database() -> None:
    name = csgp.unique("raw").lower()
    csgp.pg("createdb", name)
    csgp.CREATED_DATABASES.append(name)
    r = csgp.run_cli(
        "--db",
        f"postgresql://csg_app@127.0.0.1:{csgp.PG_PORT}/{name}",
        "--listen",
        f"127.0.0.1:{csgp.free_port()}",
        check=False,
    )
    assert r.returncode != 0 and "csg-persist migrate" in r.stderr
    # And the app role cannot migrate it itself.
    r = csgp.run_cli(
        "migrate",
        "--db",
        f"postgresql://csg_app@127.0.0.1:{csgp.PG_PORT}/{name}",
        check=False,
    )
    assert r.returncode != 0 and "permission denied" in r.stderr


def test_import_reports_rejects(tmp_path, database: csgp.Database) -> None:
    good = csgp.make_events(5, seed=99)
    lines = [json.dumps(e) for e in good] + [
        "",
        "not json",
        json.dumps(dict(good[0], credit_history=1.5)),
    ]
    f = tmp_path / "in.ndjson"
    f.write_text("\n".join(lines) + "\n")
    r = csgp.run_cli("import", "--db", database.url, str(f), check=False)
    assert r.returncode == 3, r.stderr
    assert json.loads(r.stdout) == {
        "lines": 7,
        "inserted": 5,
        "duplicates": 0,
        "rejected": 2,
    }
    assert (
        "line 7:" in r.stderr and "line 8:" in r.stderr and "credit_history" in r.stderr
    )
    r = subprocess.run(
        [str(csgp.BIN), "import", "--db", database.url, "-"],
        input="\n".join(lines[:5]),
        env=csgp.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and json.loads(r.stdout)["duplicates"] == 5
    assert database.count() == 5


def test_import_of_unreadable_input_fails(tmp_path) -> None:
    """A directory opens fine on Linux but cannot be read: exit 1, never "lines 0"."""
    db = f"sqlite:{tmp_path / 'x.db'}"
    r = csgp.run_cli("import", "--db", db, str(tmp_path), check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "cannot read" in r.stderr and r.stdout == "", r.stderr
    r = csgp.run_cli("import", "--db", db, str(tmp_path / "missing.ndjson"), check=False)
    assert r.returncode == 1 and "cannot open" in r.stderr, r.stderr


def test_help() -> None:
    r = csgp.run_cli("--help")
    assert (
        "migrate" in r.stdout
        and "import" in r.stdout
        and "--session-timeout-ms" in r.stdout
    )


@pytest.mark.parametrize("kind", ["pg", "sqlite"])
def test_migration_002_keeps_rows(kind: str, tmp_path) -> None:
    """A database migrated by the previous csg-persist (001 and 010) holding rows: the
    service refuses it (002 is missing although 010 is the highest applied), and migrate
    applies 002 (features, config_version, nullable brief columns, feature_catalogue) and
    003 (reason lists, NULL for the old rows) keeping every row, id and value; then events
    with and without features and reasons load."""
    ev = csgp.make_events(5, 77)
    cols = [c if c != "timestamp" else '"timestamp"' for c in csgp.COLUMNS]
    sqldir = csgp.ROOT / "sql" / ("postgres" if kind == "pg" else "sqlite")
    sql001 = (sqldir / "001_metrics.sql").read_text()
    sql010 = (sqldir / "010_loan_outcomes.sql").read_text()
    if kind == "pg":
        name = csgp.unique("m").lower()
        csgp.pg("createdb", name)
        csgp.CREATED_DATABASES.append(name)
        owner = f"postgresql://csg_owner@127.0.0.1:{csgp.PG_PORT}/{name}"
        db = csgp.Database(url=f"postgresql://csg_app@127.0.0.1:{csgp.PG_PORT}/{name}",
                           owner_url=owner, kind="pg", name=name)
        setup = csgp.Database(url=owner, owner_url=owner, kind="pg")
        ph = "%s"
    else:
        url = f"sqlite:{tmp_path / 'm.sqlite'}"
        db = setup = csgp.Database(url=url, owner_url=url, kind="sqlite")
        ph = "?"
    con = setup.connect()
    cur = con.cursor()
    if kind == "pg":
        cur.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text "
                    "NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        cur.execute(sql001)
        cur.execute(sql010)
    else:
        cur.executescript(sql001)
        cur.executescript(sql010)
        cur.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT "
                    "NOT NULL, applied_at TEXT NOT NULL DEFAULT 'x')")
    cur.execute("INSERT INTO schema_migrations (version, name) VALUES (1, '001_metrics'), "
                "(10, '010_loan_outcomes')")
    for e in ev:
        cur.execute(f"INSERT INTO credit_score_metrics ({', '.join(cols)}) VALUES "
                    f"({', '.join([ph] * len(cols))})", [e[c] for c in csgp.COLUMNS])
    con.commit()
    before = sorted(setup.query("SELECT id, event_id, income, loan_amount, credit_history "
                                "FROM credit_score_metrics"))
    con.close()
    if kind == "pg":  # SQLite files are migrated by the service itself
        r = csgp.run_cli("--db", db.url, "--listen", f"127.0.0.1:{csgp.free_port()}",
                         check=False)
        assert r.returncode != 0 and "lacks migration 002" in r.stderr, r.stderr
    out = csgp.run_cli("migrate", "--db", db.owner_url).stdout
    # Every shipped migration but the two applied by hand above.
    shipped = csgp.ROOT / "sql" / ("postgres" if kind == "pg" else "sqlite")
    assert f"{len(list(shipped.glob('[0-9][0-9][0-9]_*.sql'))) - 2} migration(s) applied" in out, out
    # 007 built the rollups of the rows already stored (per hour and per day).
    assert csgp.rollup_totals(db) == [(3600, 5), (86400, 5)]
    assert sorted(db.query("SELECT id, event_id, income, loan_amount, credit_history FROM "
                           "credit_score_metrics")) == before
    assert db.query("SELECT count(*) FROM credit_score_metrics WHERE features IS NULL AND "
                    "config_version IS NULL AND champion_reasons IS NULL AND challenger_reasons "
                    "IS NULL") == [(5,)]
    assert db.query("SELECT count(*) FROM feature_catalogue") == [(0,)]
    more = csgp.make_events(4, 78)
    more[0]["features"] = {"home": "rent", "income": more[0]["income"]}
    more[0]["config_version"] = "00112233445566ff"
    more[1]["income"] = None  # nullable now
    if more[2]["champion_score"] is not None:
        more[2]["champion_reasons"] = []
    f = tmp_path / "more.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in more) + "\n")
    stats = json.loads(csgp.run_cli("import", "--db", db.url, str(f)).stdout)
    assert stats["inserted"] == 4 and stats["rejected"] == 0, stats
    assert db.count() == 9
    assert csgp.rollup_totals(db) == [(3600, 9), (86400, 9)]
    assert sorted(db.query("SELECT name, type, count FROM feature_catalogue")) == [
        ("home", "category", 1), ("income", "number", 1)]
    assert db.query("SELECT count(*) FROM credit_score_metrics WHERE income IS NULL") == [(1,)]
