//! `POST /api/upload`: a `multipart/form-data` body parsed with `multer`, answered with
//! what arrived, so a test can check that every byte did: each file part's field name,
//! filename, content type, size and SHA-256, and each text field's value. Bounded: the
//! body at most [`MAX_BODY`] (413 above), at most [`MAX_PARTS`] parts (413 above), a text
//! field at most [`MAX_TEXT`] bytes of UTF-8 (400 otherwise). A request that is not
//! `multipart/form-data` with a boundary gets 415, a malformed body 400.

use crate::shop::{error, ok_json, Body};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::CONTENT_TYPE;
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The largest upload body read (after a `content-encoding: gzip` is decoded).
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// The most parts an upload may have.
pub(crate) const MAX_PARTS: usize = 32;
/// The longest text field.
pub(crate) const MAX_TEXT: usize = 64 * 1024;

/// The answer to an upload whose body (`body`, already read within [`MAX_BODY`]) came with
/// `headers`.
pub(crate) async fn answer(headers: &HeaderMap, body: Bytes) -> Response<Body> {
    let boundary = match headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(multer::parse_boundary)
    {
        Some(Ok(b)) => b,
        _ => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a multipart/form-data body with a boundary",
            )
        }
    };
    match parse(body, boundary).await {
        Ok(v) => ok_json(StatusCode::OK, v),
        Err((status, why)) => error(status, &why),
    }
}

async fn parse(body: Bytes, boundary: String) -> Result<Value, (StatusCode, String)> {
    let limits = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(MAX_BODY as u64));
    let stream = Full::new(body).into_data_stream();
    let mut m = multer::Multipart::with_constraints(stream, boundary, limits);
    let (mut files, mut fields) = (Vec::new(), Map::new());
    let mut count = 0;
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(malformed(e)),
        };
        count += 1;
        if count > MAX_PARTS {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("more than {MAX_PARTS} parts"),
            ));
        }
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(malformed)?;
        match filename {
            Some(filename) => files.push(json!({
                "field": name,
                "filename": filename,
                "content_type": content_type,
                "size": data.len(),
                "sha256": hex::encode(Sha256::digest(&data)),
            })),
            None => {
                if data.len() > MAX_TEXT {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("text field `{name}` is over {MAX_TEXT} bytes"),
                    ));
                }
                let Ok(text) = String::from_utf8(data.to_vec()) else {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("text field `{name}` is not UTF-8 (send bytes as a file part)"),
                    ));
                };
                fields.insert(name, Value::String(text));
            }
        }
    }
    Ok(json!({"files": files, "fields": fields}))
}

fn malformed(e: multer::Error) -> (StatusCode, String) {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            (StatusCode::PAYLOAD_TOO_LARGE, "body too large".into())
        }
        e => (
            StatusCode::BAD_REQUEST,
            format!("malformed multipart body: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn run(ct: Option<&str>, body: &'static [u8]) -> (StatusCode, Value) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut h = HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            let res = answer(&h, Bytes::from_static(body)).await;
            let status = res.status();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap())
        })
    }

    #[test]
    fn reports_files_by_hash_and_text_fields_by_value() {
        let body = b"--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--B\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\xff\x00\xfe\r\n--B--\r\n";
        let (status, v) = run(Some("multipart/form-data; boundary=B"), body);
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["fields"]["note"], "hi");
        let f = &v["files"][0];
        assert_eq!(f["field"], "doc");
        assert_eq!(f["filename"], "a.bin");
        assert_eq!(f["content_type"], "application/octet-stream");
        assert_eq!(f["size"], 3);
        assert_eq!(
            f["sha256"],
            hex::encode(Sha256::digest([0xffu8, 0x00, 0xfe]))
        );
    }

    #[test]
    fn refuses_what_is_not_multipart_and_what_is_malformed() {
        assert_eq!(run(None, b"x").0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            run(Some("application/json"), b"{}").0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let (status, v) = run(Some("multipart/form-data; boundary=B"), b"--B\r\nbroken");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    }

    #[test]
    fn bounds_the_part_count_and_text_encoding() {
        let mut body = Vec::new();
        for i in 0..=MAX_PARTS {
            body.extend_from_slice(
                format!("--B\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(b"--B--\r\n");
        let body: &'static [u8] = Box::leak(body.into_boxed_slice());
        assert_eq!(
            run(Some("multipart/form-data; boundary=B"), body).0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let bad = b"--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n\xff\r\n--B--\r\n";
        assert_eq!(
            run(Some("multipart/form-data; boundary=B"), bad).0,
            StatusCode::BAD_REQUEST
        );
    }
}
