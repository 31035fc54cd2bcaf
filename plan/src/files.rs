//! Files of the test's folder that a plan carries: the file parts of `multipart:` request
//! bodies (`file("data/photo.jpg")`). The compiler reads them when the test compiles and
//! the plan holds their bytes (base64 in `plan.json`), so they reach every runner with the
//! plan: in a local fleet's `plan.json`, on Kubernetes in the plan ConfigMap. A request
//! names a file by its index in [`crate::Plan::files`]; the engine turns each file into
//! one shared buffer when it loads the plan, never a copy per request.
//!
//! The bound: all the files of one test together take at most [`MAX_FILES_BYTES`], so
//! that the plan, files in base64 included, still fits the 1 MiB of one ConfigMap.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most bytes the files of one test may hold together (and so one file): 512 KiB,
/// 683 KiB in base64, which leaves the rest of the plan ConfigMap's 1 MiB to the plan.
pub const MAX_FILES_BYTES: u64 = 512 * 1024;

/// One file of the test's folder and its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileData {
    /// The path as written, relative to the `.load` file.
    pub path: String,
    /// The content, base64 (standard alphabet, padded) in `plan.json`.
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub bytes: Vec<u8>,
}

fn to_base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use base64::Engine as _;
    let text = String::deserialize(d)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| serde::de::Error::custom(format!("a file's bytes are not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_as_base64() {
        let f = FileData {
            path: "data/x.bin".into(),
            bytes: vec![0, 0xff, 0xfe, b'a', 0x80],
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"path":"data/x.bin","bytes":"AP/+YYA="}"#);
        let back: FileData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn bad_base64_is_an_error_not_a_panic() {
        let r: Result<FileData, _> = serde_json::from_str(r#"{"path":"x","bytes":"%%%"}"#);
        assert!(r.unwrap_err().to_string().contains("not base64"));
    }
}
