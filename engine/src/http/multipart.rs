//! `multipart/form-data` request bodies (RFC 7578 framing, as Go's `mime/multipart`
//! writes them and k6 sends them): a boundary drawn at random for each request, each part
//! as `--BOUNDARY CRLF`, its headers, an empty line and its content, parts separated by
//! CRLF, and `--BOUNDARY--` CRLF to close. A part's headers are built once per request
//! site ([`text_head`], [`file_head`]); a file's content is its shared buffer, so a
//! request never copies it (the body is chunks, [`super::Body`]).
//!
//! No crate did this without bringing a whole HTTP client or a stream of futures: this
//! encoder is small, and its tests read what it writes back with `multer`, the parser the
//! demo shop's `POST /api/upload` uses.

use super::Body;
use bytes::{BufMut, Bytes, BytesMut};

/// The boundary's length: 30 random bytes in hex, as Go's `mime/multipart` draws it.
pub const BOUNDARY_LEN: usize = 60;

/// A fresh random boundary (60 hex digits).
pub fn boundary() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; BOUNDARY_LEN / 2];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The `Content-Type` of a body with `boundary`.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// `"` and `\` escaped, as Go's `multipart` escapes names in `Content-Disposition`.
fn quoted(out: &mut BytesMut, s: &str) {
    out.put_u8(b'"');
    for c in s.bytes() {
        if c == b'"' || c == b'\\' {
            out.put_u8(b'\\');
        }
        out.put_u8(c);
    }
    out.put_u8(b'"');
}

/// The headers of a text part named `name`, up to and including the empty line.
pub fn text_head(name: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(48 + name.len());
    out.put_slice(b"Content-Disposition: form-data; name=");
    quoted(&mut out, name);
    out.put_slice(b"\r\n\r\n");
    out.freeze()
}

/// The headers of a file part, up to and including the empty line.
pub fn file_head(name: &str, filename: &str, content_type: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(80 + name.len() + filename.len() + content_type.len());
    out.put_slice(b"Content-Disposition: form-data; name=");
    quoted(&mut out, name);
    out.put_slice(b"; filename=");
    quoted(&mut out, filename);
    out.put_slice(b"\r\nContent-Type: ");
    out.put_slice(content_type.as_bytes());
    out.put_slice(b"\r\n\r\n");
    out.freeze()
}

/// One part to encode: its headers ([`text_head`] or [`file_head`]) and its content.
#[derive(Clone, Debug)]
pub struct Part {
    pub head: Bytes,
    pub content: Bytes,
}

/// The body of `parts` with `boundary`: text and headers gathered into small buffers, each
/// part's content kept as its own shared chunk.
pub fn encode(boundary: &str, parts: &[Part]) -> Body {
    let mut chunks = Vec::with_capacity(parts.len() * 2 + 1);
    let mut glue = BytesMut::with_capacity(128 * (parts.len() + 1));
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            glue.put_slice(b"\r\n");
        }
        glue.put_slice(b"--");
        glue.put_slice(boundary.as_bytes());
        glue.put_slice(b"\r\n");
        glue.put_slice(&p.head);
        chunks.push(glue.split().freeze());
        chunks.push(p.content.clone());
    }
    glue.put_slice(b"\r\n--");
    glue.put_slice(boundary.as_bytes());
    glue.put_slice(b"--\r\n");
    chunks.push(glue.freeze());
    Body::from_chunks(chunks)
}

#[cfg(test)]
mod unit {
    use super::*;

    /// A part as `multer` read it: name, filename, content type, content.
    type Read = (String, Option<String>, Option<String>, Vec<u8>);

    fn parse(boundary: &str, body: Bytes) -> Vec<Read> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move {
            let stream = futures_once(body);
            let mut m = multer::Multipart::new(stream, boundary);
            let mut out = Vec::new();
            while let Some(field) = m.next_field().await.unwrap() {
                let name = field.name().map(str::to_string).unwrap_or_default();
                let filename = field.file_name().map(str::to_string);
                let ct = field.content_type().map(|m| m.to_string());
                let data = field.bytes().await.unwrap().to_vec();
                out.push((name, filename, ct, data));
            }
            out
        })
    }

    /// A one-item stream without the futures crate: `Full`'s data stream.
    fn futures_once(body: Bytes) -> http_body_util::BodyDataStream<http_body_util::Full<Bytes>> {
        use http_body_util::BodyExt;
        http_body_util::Full::new(body).into_data_stream()
    }

    #[test]
    fn multer_reads_back_text_and_binary_parts_byte_for_byte() {
        let binary: Vec<u8> = (0..=255u8)
            .rev()
            .chain([0xff, 0xfe, 0, b'\r', b'\n', b'-', b'-'])
            .collect();
        let file = Bytes::from(binary.clone());
        let b = boundary();
        assert_eq!(b.len(), BOUNDARY_LEN);
        let parts = vec![
            Part {
                head: text_head("note"),
                content: Bytes::from_static("héllo\r\nworld".as_bytes()),
            },
            Part {
                head: file_head("doc", "blob.bin", "application/octet-stream"),
                content: file.clone(),
            },
            Part {
                head: text_head("empty"),
                content: Bytes::new(),
            },
            Part {
                head: file_head("csv", "r-1.csv", "text/csv"),
                content: Bytes::from_static(b"a,b\n1,2\n"),
            },
        ];
        let body = encode(&b, &parts);
        // The file's bytes are the shared buffer, not a copy.
        assert!(body.chunks().any(|c| c.as_ptr() == file.as_ptr()));
        let got = parse(&b, body.to_bytes());
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0],
            (
                "note".into(),
                None,
                None,
                "héllo\r\nworld".as_bytes().to_vec()
            )
        );
        assert_eq!(
            got[1],
            (
                "doc".into(),
                Some("blob.bin".into()),
                Some("application/octet-stream".into()),
                binary
            )
        );
        assert_eq!(got[2].0, "empty");
        assert_eq!(got[2].3, b"");
        assert_eq!(got[3].1.as_deref(), Some("r-1.csv"));
        assert_eq!(got[3].2.as_deref(), Some("text/csv"));
        assert_eq!(got[3].3, b"a,b\n1,2\n");
    }

    #[test]
    fn the_framing_is_gos() {
        let body = encode(
            "XYZ",
            &[
                Part {
                    head: text_head("a"),
                    content: Bytes::from_static(b"1"),
                },
                Part {
                    head: file_head("f", "x.txt", "text/plain"),
                    content: Bytes::from_static(b"data"),
                },
            ],
        );
        assert_eq!(
            &body.to_bytes()[..],
            &b"--XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XYZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\ndata\r\n--XYZ--\r\n"[..]
        );
    }

    /// Quotes and backslashes in names are escaped as Go's `multipart` (and so k6) writes
    /// them. (`multer` does not read such names back: a server may expect WHATWG's `%22`.)
    #[test]
    fn quotes_in_names_are_escaped_as_go_does() {
        assert_eq!(
            &file_head("say \"hi\"\\", "a\"b.txt", "text/plain")[..],
            &b"Content-Disposition: form-data; name=\"say \\\"hi\\\"\\\\\"; filename=\"a\\\"b.txt\"\r\nContent-Type: text/plain\r\n\r\n"[..]
        );
    }

    #[test]
    fn every_request_draws_another_boundary() {
        assert_ne!(boundary(), boundary());
        assert!(boundary().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
