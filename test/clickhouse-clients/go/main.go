// A ClickHouse client as Grafana's ClickHouse data source runs it: the
// clickhouse-go v2 driver over HTTP with its defaults. It connects to the
// address in CH_ADDR, does what the data source and its query builder do,
// and prints one JSON object with what it saw; the jest suite
// (clickhouse-go.test.ts) asserts on it. A step that fails records its error
// and the program goes on, so one run reports every difference.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

type report map[string]any

func main() {
	out := report{}
	ctx := context.Background()
	compression := map[string]clickhouse.CompressionMethod{
		"":        clickhouse.CompressionNone,
		"gzip":    clickhouse.CompressionGZIP,
		"deflate": clickhouse.CompressionDeflate,
		"br":      clickhouse.CompressionBrotli,
		// ClickHouse's own compressed blocks over HTTP (compress=1, decompress=1 for inserts).
		"lz4":  clickhouse.CompressionLZ4,
		"zstd": clickhouse.CompressionZSTD,
	}[os.Getenv("CH_COMPRESSION")]
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{os.Getenv("CH_ADDR")},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Database: "default", Username: os.Getenv("CH_USER"), Password: os.Getenv("CH_PASSWORD")},
		Compression: &clickhouse.Compression{Method: compression},
		DialTimeout: 30 * time.Second,
	})
	if err != nil {
		fail(out, "open", err)
	}
	step := func(name string, run func() (any, error)) {
		value, err := run()
		if err != nil {
			out[name] = map[string]string{"error": err.Error()}
			return
		}
		out[name] = value
	}

	// CH_QUERIES names a JSON array of SQL texts (a dashboard's panels): each is run as Grafana
	// runs a panel, and its columns' names and ClickHouse types and its row count are reported.
	if path := os.Getenv("CH_QUERIES"); path != "" {
		out["queries"] = runQueries(ctx, conn, path)
		print(out)
		return
	}
	step("ping", func() (any, error) { return "ok", conn.Ping(ctx) })
	step("serverVersion", func() (any, error) {
		v, err := conn.ServerVersion()
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": v.DisplayName, "version": v.Version.String(), "revision": v.Revision}, nil
	})
	strings := func(sql string, args ...any) (any, error) {
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		list := []string{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			list = append(list, s)
		}
		return list, rows.Err()
	}
	// The data source's query builder: databases, tables of one, columns of one.
	step("databases", func() (any, error) { return strings("SELECT name FROM system.databases") })
	step("tables", func() (any, error) {
		return strings("SELECT name FROM system.tables WHERE database = ?", "default")
	})
	step("columns", func() (any, error) {
		rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'http_exchanges'")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		columns := map[string]string{}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				return nil, err
			}
			columns[name] = typ
		}
		return columns, rows.Err()
	})
	step("describe", func() (any, error) {
		rows, err := conn.Query(ctx, "DESCRIBE TABLE default.http_exchanges")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return n, rows.Err()
	})

	// Server-side query parameters of every common type, Map included.
	step("parameters", func() (any, error) {
		pctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
			"s": "it's\ta", "u8": "255", "i64": "-9007199254740993", "f": "1.5", "b": "true",
			"d": "2026-12-06", "dt": "2026-12-06 10:11:12", "dt64": "2026-12-06 10:11:12.345",
			"uuid": "8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c", "arr": "['x','y']", "m": "{'k1':1,'k2':2}",
			"n": "\\N", "dec": "12.34", "tup": "(1,'t')",
		}))
		row := conn.QueryRow(pctx, `SELECT {s:String}, {u8:UInt8}, {i64:Int64}, {f:Float64}, {b:Bool}, {d:Date}, {dt:DateTime('UTC')},
			{dt64:DateTime64(3, 'UTC')}, {uuid:UUID}, {arr:Array(String)}, {m:Map(String, UInt64)}, {n:Nullable(String)}, toString({dec:Decimal(10, 2)}), {tup:Tuple(UInt8, String)}`)
		var (
			s    string
			u8   uint8
			i64  int64
			f    float64
			b    bool
			d    time.Time
			dt   time.Time
			dt64 time.Time
			uuid string
			arr  []string
			m    map[string]uint64
			n    *string
			dec  string
			tup  []any
		)
		if err := row.Scan(&s, &u8, &i64, &f, &b, &d, &dt, &dt64, &uuid, &arr, &m, &n, &dec, &tup); err != nil {
			return nil, err
		}
		return map[string]any{"s": s, "u8": u8, "i64": fmt.Sprint(i64), "f": f, "b": b, "d": d.Format("2006-01-02"), "dt": dt.UTC().Format(time.RFC3339),
			"dt64": dt64.UTC().Format(time.RFC3339Nano), "uuid": uuid, "arr": arr, "m": m, "nIsNull": n == nil, "dec": fmt.Sprint(dec), "tup": tup}, nil
	})
	// Client-side binding (the driver substitutes literals itself).
	step("bound", func() (any, error) {
		row := conn.QueryRow(ctx, "SELECT toInt64(@a) + 1, @b", clickhouse.Named("a", 41), clickhouse.Named("b", "x'y"))
		var a int64
		var b string
		if err := row.Scan(&a, &b); err != nil {
			return nil, err
		}
		return map[string]any{"a": a, "b": b}, nil
	})
	// The captured exchanges, with the store's Map, Array and LowCardinality columns.
	step("exchanges", func() (any, error) {
		rows, err := conn.Query(ctx, "SELECT Timestamp, Authority, StatusCode, RequestHeaders, GenAiFinishReasons FROM http_exchanges ORDER BY Timestamp")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		list := []map[string]any{}
		for rows.Next() {
			var (
				ts        time.Time
				authority string
				status    uint16
				headers   map[string]string
				reasons   []string
			)
			if err := rows.Scan(&ts, &authority, &status, &headers, &reasons); err != nil {
				return nil, err
			}
			list = append(list, map[string]any{"authority": authority, "status": status, "headers": headers, "reasons": reasons, "year": ts.Year()})
		}
		return list, rows.Err()
	})
	// A result of many blocks, streamed.
	step("stream", func() (any, error) {
		rows, err := conn.Query(ctx, "SELECT number, toString(number) FROM numbers(300000)")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var count, sum uint64
		for rows.Next() {
			var n uint64
			var s string
			if err := rows.Scan(&n, &s); err != nil {
				return nil, err
			}
			if s != fmt.Sprint(n) {
				return nil, fmt.Errorf("row %d came back as %q", n, s)
			}
			count++
			sum += n
		}
		return map[string]uint64{"rows": count, "sum": sum}, rows.Err()
	})
	step("error", func() (any, error) {
		_, err := conn.Query(ctx, "SELECT no_such_column FROM http_exchanges")
		if err == nil {
			return "no error", nil
		}
		var exception *clickhouse.Exception
		if e, ok := err.(*clickhouse.Exception); ok {
			exception = e
			return map[string]any{"code": exception.Code, "message": exception.Message}, nil
		}
		return map[string]any{"text": err.Error()}, nil
	})

	if os.Getenv("CH_WRITES") == "1" {
		table := "go_client_rows"
		step("create", func() (any, error) {
			return "ok", conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (id UInt64, name String, tags Map(String, String), at DateTime64(3, 'UTC'), score Nullable(Float64)) ENGINE = MergeTree ORDER BY id")
		})
		step("insert", func() (any, error) {
			batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
			if err != nil {
				return nil, err
			}
			at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
			for i := 0; i < 1000; i++ {
				var score *float64
				if i%2 == 0 {
					v := float64(i) / 2
					score = &v
				}
				if err := batch.Append(uint64(i), fmt.Sprintf("row-%d", i), map[string]string{"k": fmt.Sprint(i % 7)}, at.Add(time.Duration(i)*time.Millisecond), score); err != nil {
					return nil, err
				}
			}
			return "ok", batch.Send()
		})
		step("readBack", func() (any, error) {
			row := conn.QueryRow(ctx, "SELECT count(), sum(id), countIf(score IS NULL), max(tags['k']) FROM "+table)
			var count, sum, nulls uint64
			var maxTag string
			if err := row.Scan(&count, &sum, &nulls, &maxTag); err != nil {
				return nil, err
			}
			return map[string]any{"count": count, "sum": sum, "nulls": nulls, "maxTag": maxTag}, nil
		})
		step("drop", func() (any, error) { return "ok", conn.Exec(ctx, "DROP TABLE "+table) })
	}
	conn.Close()
	print(out)
}

type queryResult struct {
	Columns [][2]string `json:"columns"`
	Rows    int         `json:"rows"`
	Error   string      `json:"error,omitempty"`
}

func runQueries(ctx context.Context, conn clickhouse.Conn, path string) []queryResult {
	text, err := os.ReadFile(path)
	if err != nil {
		return []queryResult{{Error: err.Error()}}
	}
	var queries []string
	if err := json.Unmarshal(text, &queries); err != nil {
		return []queryResult{{Error: err.Error()}}
	}
	results := []queryResult{}
	for _, sql := range queries {
		result := queryResult{Columns: [][2]string{}}
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			result.Error = err.Error()
			results = append(results, result)
			continue
		}
		for _, column := range rows.ColumnTypes() {
			result.Columns = append(result.Columns, [2]string{column.Name(), column.DatabaseTypeName()})
		}
		for rows.Next() {
			result.Rows++
		}
		if err := rows.Err(); err != nil {
			result.Error = err.Error()
		}
		rows.Close()
		results = append(results, result)
	}
	return results
}

func fail(out report, step string, err error) {
	out[step] = map[string]string{"error": err.Error()}
	print(out)
	os.Exit(1)
}

func print(out report) {
	text, _ := json.Marshal(out)
	fmt.Println(string(text))
}
