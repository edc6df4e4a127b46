"""
A ClickHouse client as Python users run it: clickhouse-connect with its
defaults (HTTP, Native format, lz4 compression both ways, client_protocol_version
probe, per-query settings checked against system.settings). Connects to
CH_HOST:CH_PORT, does what a user does, and prints one JSON object with what
it saw; the jest suite (clickhouse-connect.test.ts) asserts on it. A step that
fails records its error and the script goes on, so one run reports every
difference.
"""
import datetime
import decimal
import json
import os
import sys
import uuid

import clickhouse_connect

out = {}


def step(name, run):
    try:
        out[name] = run()
    except Exception as error:  # every failure is reported, the run goes on
        out[name] = {"error": f"{type(error).__name__}: {error}"}


compress = os.environ.get("CH_COMPRESSION") or True
try:
    client = clickhouse_connect.get_client(
        host=os.environ["CH_HOST"],
        port=int(os.environ["CH_PORT"]),
        username=os.environ["CH_USER"],
        password=os.environ["CH_PASSWORD"],
        compress=compress,
    )
except Exception as error:
    print(json.dumps({"connect": {"error": f"{type(error).__name__}: {error}"}}))
    sys.exit(1)

out["connect"] = {"version": client.server_version, "protocolVersion": client.protocol_version, "compression": client.compression}
step("databases", lambda: [r[0] for r in client.query("SELECT name FROM system.databases").result_rows])
step("tables", lambda: [r[0] for r in client.query("SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": "default"}).result_rows])
step("columns", lambda: dict(client.query("SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'http_exchanges'").result_rows))
step("describe", lambda: len(client.query("DESCRIBE TABLE http_exchanges").result_rows))


def parameters():
    row = client.query(
        "SELECT {s:String}, {u8:UInt8}, {i64:Int64}, {f:Float64}, {b:Bool}, {d:Date}, {dt:DateTime('UTC')}, {dt64:DateTime64(3, 'UTC')},"
        " {u:UUID}, {arr:Array(String)}, {m:Map(String, UInt64)}, {n:Nullable(String)}, {dec:Decimal(10, 2)}, {t:Tuple(UInt8, String)}",
        parameters={
            "s": "it's\ta", "u8": 255, "i64": -9007199254740993, "f": 1.5, "b": True, "d": datetime.date(2026, 12, 6),
            "dt": datetime.datetime(2026, 12, 6, 10, 11, 12), "dt64": datetime.datetime(2026, 12, 6, 10, 11, 12, 345000),
            "u": uuid.UUID("8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c"), "arr": ["x", "y"], "m": {"k1": 1, "k2": 2}, "n": None,
            "dec": decimal.Decimal("12.34"), "t": (1, "t"),
        },
    ).result_rows[0]
    return [str(v) if isinstance(v, (datetime.date, uuid.UUID, decimal.Decimal)) else v for v in row]


step("parameters", parameters)
step("settings", lambda: client.query("SELECT number FROM numbers(10)", settings={"max_result_rows": 100, "output_format_json_quote_64bit_integers": 0, "max_threads": 1}).row_count)


def exchanges():
    rows = client.query("SELECT Timestamp, Authority, StatusCode, RequestHeaders, GenAiFinishReasons FROM http_exchanges ORDER BY Timestamp").result_rows
    return [{"authority": r[1], "status": r[2], "headers": r[3], "reasons": r[4], "year": r[0].year} for r in rows]


step("exchanges", exchanges)


def external():
    # External data tables: a file part per table, with its structure (or types) and format.
    from clickhouse_connect.driver.external import ExternalData

    data = ExternalData(file_name="ids.tsv", data=b"1\tone\n2\ttwo\n3\tthree\n", structure=["id UInt32", "name String"])
    data.add_file(file_name="picked.csv", data=b"2\n3\n", fmt="CSV", types=["UInt32"])
    rows = client.query("SELECT name FROM ids WHERE id IN (SELECT _1 FROM picked) ORDER BY id", external_data=data).result_rows
    return [r[0] for r in rows]


step("external", external)
# The answer's summary (X-ClickHouse-Summary), with progress headers asked for: system.settings says the client may.
step("summary", lambda: client.query("SELECT number FROM numbers(10)", settings={"send_progress_in_http_headers": 1}).summary.get("result_rows"))


def stream():
    count = 0
    total = 0
    with client.query_row_block_stream("SELECT number, toString(number) FROM numbers(300000)") as blocks:
        for block in blocks:
            for n, s in block:
                if s != str(n):
                    raise ValueError(f"row {n} came back as {s!r}")
                count += 1
                total += n
    return {"rows": count, "sum": total}


step("stream", stream)


def error():
    try:
        client.query("SELECT no_such_column FROM http_exchanges")
        return "no error"
    except Exception as e:
        return {"code": getattr(e, "code", None), "text": str(e)}


step("error", error)

if os.environ.get("CH_WRITES") == "1":
    table = "py_client_rows"
    step("create", lambda: client.command(f"CREATE TABLE IF NOT EXISTS {table} (id UInt64, name String, tags Map(String, String), at DateTime64(3, 'UTC'), score Nullable(Float64)) ENGINE = MergeTree ORDER BY id") and "ok")

    def insert():
        at = datetime.datetime(2026, 12, 6, 10, 0, tzinfo=datetime.timezone.utc)
        rows = [[i, f"row-{i}", {"k": str(i % 7)}, at + datetime.timedelta(milliseconds=i), (i / 2 if i % 2 == 0 else None)] for i in range(1000)]
        summary = client.insert(table, rows, column_names=["id", "name", "tags", "at", "score"])
        return {"written_rows": summary.written_rows}

    step("insert", insert)
    step("readBack", lambda: list(client.query(f"SELECT count(), sum(id), countIf(score IS NULL), max(tags['k']) FROM {table}").result_rows[0]))
    step("drop", lambda: client.command(f"DROP TABLE {table}") and "ok")

print(json.dumps(out, default=str))
