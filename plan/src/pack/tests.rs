//! Tests of data packs: round trips, determinism, and corrupted or hostile bytes.

use super::*;
use crate::slice::tests::plan;
use crate::Pick;
use proptest::prelude::*;

fn record(i: i64) -> Value {
    let mut r = BTreeMap::new();
    r.insert(
        "email".to_string(),
        Value::Str(format!("user{i}@example.com")),
    );
    r.insert("id".to_string(), Value::Int(i));
    Value::Record(r)
}

#[test]
fn rows_round_trip_and_are_deterministic() {
    let rows: Vec<Value> = (0..1000).map(record).collect();
    let (a, ra) = encode_rows(&rows);
    let (b, rb) = encode_rows(&rows);
    assert_eq!(a, b, "the same rows give the same bytes");
    assert_eq!(ra, rb);
    assert_eq!(ra.rows, 1000);
    assert_eq!(ra.bytes, a.len() as u64);
    assert_eq!(ra.raw_bytes, raw_len(&rows));
    assert!(
        (a.len() as u64) < ra.raw_bytes,
        "compressed: {} of {}",
        a.len(),
        ra.raw_bytes
    );
    let json = serde_json::to_string(&rows).unwrap();
    assert!(
        ra.raw_bytes * 2 < json.len() as u64,
        "the payload is compact: {} against {} of JSON",
        ra.raw_bytes,
        json.len()
    );
    assert_eq!(decode_rows(&a, &ra).unwrap(), rows);
}

#[test]
fn corruption_is_an_error_never_a_panic() {
    let rows: Vec<Value> = (0..200).map(record).collect();
    let (pack, r) = encode_rows(&rows);
    // Truncated anywhere.
    for cut in [0, 5, 20, HEADER_BYTES, pack.len() / 2, pack.len() - 1] {
        let e = decode_rows(&pack[..cut], &r).unwrap_err();
        assert!(
            matches!(
                e,
                PackError::Short { .. } | PackError::Hash { .. } | PackError::Magic
            ),
            "cut at {cut}: {e:?}"
        );
    }
    // One bit flipped in the body: the hash says so.
    let mut flipped = pack.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let e = decode_rows(&flipped, &r).unwrap_err();
    assert!(matches!(e, PackError::Hash { .. }), "{e:?}");
    assert!(e.to_string().contains("corrupted"), "{e}");
    // Another pack's reference.
    let (_, other) = encode_rows(&rows[..10]);
    assert!(matches!(
        decode_rows(&pack, &other),
        Err(PackError::Hash { .. })
    ));
    // Not a pack, another version.
    assert_eq!(decode_rows(&[b'x'; 100], &r).unwrap_err(), PackError::Magic);
    let mut v2 = pack.clone();
    v2[7] = 2;
    assert_eq!(decode_rows(&v2, &r).unwrap_err(), PackError::Version(2));
    // A slice is not rows.
    let e = decode_rows(&encode_slice(&slice_of(3)), &r).unwrap_err();
    assert!(matches!(e, PackError::Hash { .. }), "{e:?}");
    assert!(matches!(decode_slice(&pack), Err(PackError::Kind { .. })));
}

/// A pack whose hash is right but whose body is not deflate, or inflates to another
/// length: bad compression, said so.
#[test]
fn bad_compression_is_said_so() {
    let reseal = |kind: u8, raw: u64, body: &[u8]| {
        let mut rest = vec![kind];
        rest.extend_from_slice(&raw.to_le_bytes());
        rest.extend_from_slice(body);
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&Sha256::digest(&rest));
        out.extend_from_slice(&rest);
        out
    };
    let garbage = reseal(KIND_ROWS, 100, &[0xff; 64]);
    let e = decode_slice(&garbage).unwrap_err();
    assert!(matches!(e, PackError::Compression(_)), "{e:?}");
    let (pack, _) = encode_rows(&[Value::Int(1)]);
    let lying = reseal(KIND_SLICE, 1_000, &pack[HEADER_BYTES..]);
    let e = decode_slice(&lying).unwrap_err();
    assert!(e.to_string().contains("inflates to"), "{e}");
    let huge = reseal(KIND_SLICE, MAX_RAW_BYTES + 1, &pack[HEADER_BYTES..]);
    assert!(matches!(
        decode_slice(&huge),
        Err(PackError::Compression(_))
    ));
}

fn slice_of(n: usize) -> DataSlice {
    let p = plan(&[n as u64], Pick::Unique, n * 2);
    let (_, slices) = crate::slice::split(&p, 2);
    slices.into_iter().next().unwrap()
}

#[test]
fn slices_round_trip() {
    let s = slice_of(40);
    assert!(!s.sources["users"].rows.is_empty());
    assert_eq!(decode_slice(&encode_slice(&s)).unwrap(), s);
    verify_slice(&encode_slice(&s)).unwrap();
}

#[test]
fn externalise_leaves_rows_out_of_the_plan_json_and_the_hash() {
    let mut p = plan(&[2], Pick::Random, 50);
    let before = crate::to_json(&p);
    assert!(before.contains("\"rows\": ["));
    let packs = externalise(&mut p);
    assert_eq!(packs.len(), 1);
    let text = crate::to_json(&p);
    assert!(!text.contains("\"rows\": ["), "{text}");
    assert!(text.contains("\"pack\""), "{text}");
    let hash = crate::content_hash(&p);
    let mut emptied = p.clone();
    emptied.data[0].rows.clear();
    assert_eq!(
        crate::content_hash(&emptied),
        hash,
        "filled or not, one hash"
    );
    let back = crate::from_json(&text).unwrap();
    assert!(back.data[0].rows.is_empty());
    let r = back.data[0].pack.clone().unwrap();
    assert_eq!(decode_rows(&packs[0].1, &r).unwrap(), p.data[0].rows);
    assert!(externalise(&mut p).is_empty(), "already packed");
}

#[test]
fn parts_cover_the_pack() {
    let big = vec![7u8; PART_BYTES * 2 + 5];
    let ps = parts(&big);
    assert_eq!(ps.len(), 3);
    assert_eq!(parts_needed(big.len() as u64), 3);
    assert_eq!(ps.concat(), big);
    assert_eq!(parts(&[]).len(), 1);
    assert_eq!(part_name(&source_stem("users"), 2), "data-users-2.pack");
    assert_eq!(part_name(&slice_stem(9), 0), "slice-9-0.pack");
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Str),
        (-1e6f64..1e6).prop_map(Value::Duration),
        any::<i32>().prop_map(|i| Value::Json(serde_json::json!({ "n": i }))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            proptest::collection::btree_map("[a-c]{1,2}", inner, 0..3).prop_map(Value::Record),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_rows_round_trip(rows in proptest::collection::vec(value(), 0..20)) {
        let (pack, r) = encode_rows(&rows);
        prop_assert_eq!(decode_rows(&pack, &r).unwrap(), rows);
    }

    #[test]
    fn any_bytes_are_refused_not_panicked_on(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (_, r) = encode_rows(&[]);
        prop_assert!(decode_rows(&bytes, &r).is_err());
        prop_assert!(decode_slice(&bytes).is_err());
    }

    /// A pack with a valid header around random payload bytes: the row reader itself
    /// must refuse, never panic or allocate beyond the input.
    #[test]
    fn any_payload_is_refused_or_read(payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let pack = seal(KIND_ROWS, &payload);
        let r = PackRef {
            hash: hex_hash(&pack[8..40]),
            bytes: pack.len() as u64,
            raw_bytes: payload.len() as u64,
            rows: 0,
            parts: 1,
        };
        let _ = decode_rows(&pack, &r);
        let _ = decode_slice(&seal(KIND_SLICE, &payload));
    }
}
