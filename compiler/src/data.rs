//! Reading data files at compile time: CSV (headers → columns), JSON (an array of
//! objects; keys from the union of the objects) and lines (one string per line).
//!
//! Row representation in the plan (`DataSource.rows`), the same for CSV and JSON: each
//! row is a `Value::Record` keyed by column. CSV cells are `Value::Str`, except in a
//! column whose every cell parses as an integer, which is typed `int` and holds
//! `Value::Int`. JSON cells are `Value::Int`/`Float`/`Str`/`Bool` when the column has one
//! scalar type in every object, otherwise `Value::Json` (missing keys give JSON `null`).
//! Lines rows are `Value::Str`. This module gets bytes and returns data: no IO.

use crate::files::{thousands, MAX_DATA_CELLS, MAX_DATA_ROWS};
use crate::types::Type;
use std::collections::BTreeMap;
use std::sync::Arc;
use volley_plan::{DataFormat, Value};

/// A data file's columns and rows. The rows are shared (the IR holds the same ones): a
/// loader that keeps parsed files (the language server's) hands them to the next
/// compilation without copying them.
#[derive(Debug)]
pub struct Loaded {
    pub columns: Vec<(String, Type)>,
    pub rows: Arc<Vec<Value>>,
}

/// What reading a data file's bytes as a format gives: its rows, or why not.
pub type Table = Result<Loaded, Malformed>;

/// Parses a data file's bytes as `format`.
pub fn read(bytes: &[u8], format: DataFormat) -> Table {
    match format {
        DataFormat::Csv => read_csv(bytes),
        DataFormat::Json => read_json(bytes),
        DataFormat::Lines => read_lines(bytes),
    }
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
    /// Over the row or cell limit (`why` holds the arithmetic), rather than malformed.
    pub too_large: bool,
}

fn malformed(why: impl Into<String>, help: impl Into<String>) -> Malformed {
    Malformed {
        why: why.into(),
        help: help.into(),
        too_large: false,
    }
}

/// Refuses `rows` rows of `columns` cells over `MAX_DATA_ROWS` or `MAX_DATA_CELLS`,
/// saying the arithmetic.
fn within_limits(rows: usize, columns: usize) -> Result<(), Malformed> {
    let cells = rows.saturating_mul(columns.max(1));
    if rows <= MAX_DATA_ROWS && cells <= MAX_DATA_CELLS {
        return Ok(());
    }
    let why = if columns <= 1 {
        format!(
            "it has {} rows, over the limit of {} rows",
            thousands(rows as u64),
            thousands(MAX_DATA_ROWS as u64)
        )
    } else {
        format!(
            "{} rows × {} columns = {} cells, over the limits of {} rows and {} cells",
            thousands(rows as u64),
            thousands(columns as u64),
            thousands(cells as u64),
            thousands(MAX_DATA_ROWS as u64),
            thousands(MAX_DATA_CELLS as u64)
        )
    };
    Err(Malformed {
        why,
        help: String::new(),
        too_large: true,
    })
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
    // Rows past the limits are counted (for the arithmetic) but not kept.
    let keep = MAX_DATA_ROWS.min(MAX_DATA_CELLS / headers.len());
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(malformed(
                    format!("row {}: {e}", rows + 2),
                    "every row needs as many cells as the header has columns",
                ))
            }
        }
        rows += 1;
        if rows <= keep {
            cells.push(record.iter().map(str::to_string).collect());
        }
    }
    within_limits(rows, headers.len())?;
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
    Ok(Loaded {
        columns,
        rows: Arc::new(rows),
    })
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
    within_limits(items.len(), 1)?;
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
    within_limits(items.len(), keys.len())?;
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
    Ok(Loaded {
        columns,
        rows: Arc::new(rows),
    })
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
    within_limits(rows.len(), 1)?;
    if rows.is_empty() {
        return Err(malformed(
            "it has no non-empty line",
            "write one value per line",
        ));
    }
    Ok(Loaded {
        columns: Vec::new(),
        rows: Arc::new(rows),
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
    fn rows_and_cells_are_limited_with_the_arithmetic() {
        let mut csv = String::from("a,b,c,d,e,f,g,h,i,j,k,l\n");
        for _ in 0..340_000 {
            csv.push_str("1,2,3,4,5,6,7,8,9,10,11,12\n");
        }
        let e = read_csv(csv.as_bytes()).unwrap_err();
        assert!(e.too_large);
        assert_eq!(
            e.why,
            "340,000 rows × 12 columns = 4,080,000 cells, over the limits of 1,000,000 rows and 4,000,000 cells"
        );
        let lines = "x\n".repeat(1_000_001);
        let e = read_lines(lines.as_bytes()).unwrap_err();
        assert_eq!(
            e.why,
            "it has 1,000,001 rows, over the limit of 1,000,000 rows"
        );
        assert!(read_lines("x\n".repeat(1_000_000).as_bytes()).is_ok());
    }

    #[test]
    fn lines_skip_blank_lines() {
        let l = read_lines(b"a\r\n\nb\n").unwrap();
        assert_eq!(
            *l.rows,
            vec![Value::Str("a".into()), Value::Str("b".into())]
        );
    }
}
