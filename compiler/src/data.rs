//! Reading data files at compile time: CSV (headers → columns), JSON (an array of
//! objects; keys from the union of the objects) and lines (one string per line).
//!
//! Row representation in the plan (`DataSource.rows`), the same for CSV and JSON: each
//! row is a `Value::Record` keyed by column. CSV cells are `Value::Str`, except in a
//! column whose every cell parses as an integer, which is typed `int` and holds
//! `Value::Int`. JSON cells are `Value::Int`/`Float`/`Str`/`Bool` when the column has one
//! scalar type in every object, otherwise `Value::Json` (missing keys give JSON `null`).
//! Lines rows are `Value::Str`. This module gets bytes and returns data: no IO.

use crate::types::Type;
use std::collections::BTreeMap;
use volley_plan::Value;

#[derive(Debug)]
pub struct Loaded {
    pub columns: Vec<(String, Type)>,
    pub rows: Vec<Value>,
}

impl Loaded {
    /// The type of one row.
    pub fn row_type(&self, lines: bool) -> Type {
        if lines {
            Type::Str
        } else {
            Type::Record(self.columns.clone())
        }
    }
}

/// Why a file could not be read, with a fix.
#[derive(Debug)]
pub struct Malformed {
    pub why: String,
    pub help: String,
}

fn malformed(why: impl Into<String>, help: impl Into<String>) -> Malformed {
    Malformed {
        why: why.into(),
        help: help.into(),
    }
}

pub fn read_csv(bytes: &[u8]) -> Result<Loaded, Malformed> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            malformed(
                format!("cannot read the header line: {e}"),
                "the first line names the columns, e.g. `email,password`",
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(malformed(
            "it has no header line",
            "the first line names the columns, e.g. `email,password`",
        ));
    }
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(malformed(
                format!("column {} has no name", i + 1),
                "give every column a name in the header line",
            ));
        }
        if headers[..i].contains(h) {
            return Err(malformed(
                format!("column `{h}` appears twice"),
                "give every column a distinct name",
            ));
        }
    }
    let mut cells: Vec<Vec<String>> = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            malformed(
                format!("row {}: {e}", n + 2),
                "every row needs as many cells as the header has columns",
            )
        })?;
        cells.push(record.iter().map(str::to_string).collect());
    }
    if cells.is_empty() {
        return Err(malformed(
            "it has a header but no rows",
            "add at least one row under the header",
        ));
    }
    let int_column: Vec<bool> = (0..headers.len())
        .map(|c| {
            cells
                .iter()
                .all(|row| row.get(c).is_some_and(|v| v.trim().parse::<i64>().is_ok()))
        })
        .collect();
    let columns = headers
        .iter()
        .zip(&int_column)
        .map(|(h, is_int)| (h.clone(), if *is_int { Type::Int } else { Type::Str }))
        .collect();
    let rows = cells
        .into_iter()
        .map(|row| {
            let mut rec = BTreeMap::new();
            for (c, h) in headers.iter().enumerate() {
                let cell = row.get(c).cloned().unwrap_or_default();
                let v = match cell.trim().parse::<i64>() {
                    Ok(i) if int_column[c] => Value::Int(i),
                    _ => Value::Str(cell),
                };
                rec.insert(h.clone(), v);
            }
            Value::Record(rec)
        })
        .collect();
    Ok(Loaded { columns, rows })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Str,
    Bool,
    Other,
}

fn kind_of(v: &serde_json::Value) -> Kind {
    match v {
        serde_json::Value::Number(n) if n.is_i64() => Kind::Int,
        serde_json::Value::Number(_) => Kind::Float,
        serde_json::Value::String(_) => Kind::Str,
        serde_json::Value::Bool(_) => Kind::Bool,
        _ => Kind::Other,
    }
}

pub fn read_json(bytes: &[u8]) -> Result<Loaded, Malformed> {
    let parsed: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        malformed(
            format!("invalid JSON: {e}"),
            "the file must be a JSON array of objects",
        )
    })?;
    let serde_json::Value::Array(items) = parsed else {
        return Err(malformed(
            "it is not a JSON array",
            "write the rows as `[{\"sku\": \"A\", \"qty\": 1}, …]`",
        ));
    };
    if items.is_empty() {
        return Err(malformed(
            "the array is empty",
            "add at least one object to the array",
        ));
    }
    let mut keys: Vec<String> = Vec::new();
    let mut kinds: Vec<Option<Kind>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let serde_json::Value::Object(obj) = item else {
            return Err(malformed(
                format!("element {} is not an object", i + 1),
                "every element must be an object like `{\"sku\": \"A\"}`",
            ));
        };
        for (k, v) in obj {
            let k_kind = kind_of(v);
            match keys.iter().position(|x| x == k) {
                Some(p) => {
                    kinds[p] = match (kinds[p], k_kind) {
                        (Some(a), b) if a == b => Some(a),
                        (Some(Kind::Int), Kind::Float) | (Some(Kind::Float), Kind::Int) => {
                            Some(Kind::Float)
                        }
                        _ => Some(Kind::Other),
                    }
                }
                None => {
                    // A key first seen after row 1 is missing from earlier rows.
                    keys.push(k.clone());
                    kinds.push(Some(if i == 0 { k_kind } else { Kind::Other }));
                }
            }
        }
    }
    // Keys missing from some object are nullable: typed json.
    for (p, k) in keys.iter().enumerate() {
        if items.iter().any(|it| it.get(k).is_none()) {
            kinds[p] = Some(Kind::Other);
        }
    }
    let columns: Vec<(String, Type)> = keys
        .iter()
        .zip(&kinds)
        .map(|(k, kind)| {
            let t = match kind.unwrap_or(Kind::Other) {
                Kind::Int => Type::Int,
                Kind::Float => Type::Float,
                Kind::Str => Type::Str,
                Kind::Bool => Type::Bool,
                Kind::Other => Type::Json,
            };
            (k.clone(), t)
        })
        .collect();
    let rows = items
        .iter()
        .map(|item| {
            let mut rec = BTreeMap::new();
            for (k, t) in &columns {
                let v = item.get(k).cloned().unwrap_or(serde_json::Value::Null);
                let cell = match (t, &v) {
                    (Type::Int, serde_json::Value::Number(n)) => n.as_i64().map(Value::Int),
                    (Type::Float, serde_json::Value::Number(n)) => n.as_f64().map(Value::Float),
                    (Type::Str, serde_json::Value::String(s)) => Some(Value::Str(s.clone())),
                    (Type::Bool, serde_json::Value::Bool(b)) => Some(Value::Bool(*b)),
                    _ => None,
                };
                rec.insert(k.clone(), cell.unwrap_or(Value::Json(v)));
            }
            Value::Record(rec)
        })
        .collect();
    Ok(Loaded { columns, rows })
}

pub fn read_lines(bytes: &[u8]) -> Result<Loaded, Malformed> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| malformed("it is not UTF-8 text", "save the file as UTF-8"))?;
    let rows: Vec<Value> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(|l| Value::Str(l.to_string()))
        .collect();
    if rows.is_empty() {
        return Err(malformed(
            "it has no non-empty line",
            "write one value per line",
        ));
    }
    Ok(Loaded {
        columns: Vec::new(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_integer_columns_are_ints() {
        let l = read_csv(b"id,email\n1,a@x\n2,b@x\n").unwrap();
        assert_eq!(
            l.columns,
            vec![("id".into(), Type::Int), ("email".into(), Type::Str)]
        );
        assert_eq!(l.rows.len(), 2);
        let Value::Record(r) = &l.rows[1] else {
            panic!()
        };
        assert_eq!(r["id"], Value::Int(2));
        assert_eq!(r["email"], Value::Str("b@x".into()));
    }

    #[test]
    fn csv_mixed_column_stays_string() {
        let l = read_csv(b"code\n1\nx\n").unwrap();
        assert_eq!(l.columns[0].1, Type::Str);
    }

    #[test]
    fn csv_ragged_rows_are_malformed() {
        assert!(read_csv(b"a,b\n1\n").is_err());
        assert!(read_csv(b"a,b\n").is_err());
    }

    #[test]
    fn json_keys_are_the_union() {
        let l = read_json(br#"[{"sku":"A","qty":1},{"sku":"B","qty":2,"note":"x"}]"#).unwrap();
        let names: Vec<_> = l.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["sku", "qty", "note"]);
        assert_eq!(l.columns[1].1, Type::Int);
        assert_eq!(l.columns[2].1, Type::Json);
        assert!(read_json(b"{}").is_err());
        assert!(read_json(b"[1]").is_err());
    }

    #[test]
    fn lines_skip_blank_lines() {
        let l = read_lines(b"a\r\n\nb\n").unwrap();
        assert_eq!(l.rows, vec![Value::Str("a".into()), Value::Str("b".into())]);
    }
}
