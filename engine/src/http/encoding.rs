//! Content codings: the `Accept-Encoding` the client sends, the transparent decoding of a
//! response body by its `Content-Encoding` (gzip, deflate, br, zstd; stacked codings are
//! undone last first), bounded by the scenario's `max_body` so that a decompression bomb
//! fails with [`codes::DECODED_TOO_LARGE`] instead of filling memory, and the gzip
//! encoding of a request body (`compress: "gzip"`).
//!
//! A body is decoded only when it is kept (a script reads bodies); a discarded one is
//! counted on the wire and never inflated. The codings after an unknown one are undone
//! and the body under it is left as received; a corrupt body fails with
//! [`codes::DECOMPRESSION`] (k6's 1701), an empty one (a HEAD answer, a 304) is no error.
//! tests/bodies_k6.rs compares all this with k6 1.1.0. This module must not do IO.

use std::io::{self, Read, Write};

use bytes::Bytes;

use super::error::{codes, HttpError};

/// The `Accept-Encoding` sent by default (what k6 1.1.0 sends, see docs/language.md).
pub const ACCEPT_ENCODING: &str = "gzip, br, deflate, zstd";

/// A content coding this client can undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    fn parse(token: &[u8]) -> Option<Option<Coding>> {
        let t = token.trim_ascii();
        let is = |name: &[u8]| t.eq_ignore_ascii_case(name);
        Some(if is(b"gzip") || is(b"x-gzip") {
            Some(Coding::Gzip)
        } else if is(b"deflate") {
            Some(Coding::Deflate)
        } else if is(b"br") {
            Some(Coding::Br)
        } else if is(b"zstd") {
            Some(Coding::Zstd)
        } else if is(b"identity") || t.is_empty() {
            None
        } else {
            return None;
        })
    }
}

/// Decode `body` by the `Content-Encoding` header `value`, keeping at most `max` decoded
/// bytes. The codings are undone last first, down to the first unknown one: what lies
/// under a coding this client cannot undo is left as it is (k6 skips the unknown coding
/// and goes on decoding what is under it, which only works when the coding changed
/// nothing).
pub fn decode(value: &[u8], body: Bytes, max: u64) -> Result<Bytes, HttpError> {
    let mut out = body;
    for token in value.split(|b| *b == b',').rev() {
        match Coding::parse(token) {
            Some(Some(c)) => out = decode_one(c, &out, max)?,
            Some(None) => {}
            None => break,
        }
    }
    Ok(out)
}

fn decode_one(coding: Coding, body: &[u8], max: u64) -> Result<Bytes, HttpError> {
    if body.is_empty() {
        return Ok(Bytes::new());
    }
    let read = match coding {
        Coding::Gzip => bounded(flate2::read::MultiGzDecoder::new(body), max),
        Coding::Deflate => {
            // `deflate` is zlib-wrapped by the RFC; some servers send raw deflate.
            let zlib = bounded(flate2::read::ZlibDecoder::new(body), max);
            match zlib {
                Err(Fail::Corrupt(_)) => bounded(flate2::read::DeflateDecoder::new(body), max),
                other => other,
            }
        }
        Coding::Br => bounded(brotli::Decompressor::new(body, 4096), max),
        Coding::Zstd => match zstd::stream::read::Decoder::new(body) {
            Ok(d) => bounded(d, max),
            Err(e) => Err(Fail::Corrupt(e)),
        },
    };
    read.map(Bytes::from).map_err(|f| match f {
        Fail::TooLarge => HttpError::new(
            codes::DECODED_TOO_LARGE,
            format!(
                "response body larger than max_body ({max} bytes) once decompressed ({coding:?}): not kept"
            ),
        ),
        Fail::Corrupt(e) => HttpError::new(
            codes::DECOMPRESSION,
            format!("response body could not be decompressed ({coding:?}): {e}"),
        ),
    })
}

enum Fail {
    TooLarge,
    Corrupt(io::Error),
}

/// Read all of `r`, failing past `max` bytes.
fn bounded(r: impl Read, max: u64) -> Result<Vec<u8>, Fail> {
    let mut out = Vec::new();
    r.take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(Fail::Corrupt)?;
    if out.len() as u64 > max {
        return Err(Fail::TooLarge);
    }
    Ok(out)
}

/// `body` gzip-compressed (a request's `compress: "gzip"`).
pub fn gzip(body: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    Bytes::from(enc.finish().unwrap_or_default())
}

#[cfg(test)]
mod unit {
    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    }

    fn br(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            let _ = w.write_all(data);
        }
        out
    }

    #[test]
    fn every_coding_round_trips() -> Result<(), HttpError> {
        let data = b"hello hello hello hello".repeat(50);
        let gz = gzip(&data);
        assert_eq!(decode(b"gzip", gz.clone(), 1 << 20)?, data[..]);
        assert_eq!(decode(b"deflate", zlib(&data).into(), 1 << 20)?, data[..]);
        assert_eq!(decode(b"BR", br(&data).into(), 1 << 20)?, data[..]);
        let z = zstd::stream::encode_all(&data[..], 1).unwrap_or_default();
        assert_eq!(decode(b"zstd", z.into(), 1 << 20)?, data[..]);
        // Stacked: gzip applied first, then br.
        let both = br(&gz);
        assert_eq!(decode(b"gzip, br", both.into(), 1 << 20)?, data[..]);
        // Unknown or identity: as received.
        assert_eq!(decode(b"compress", gz.clone(), 1 << 20)?, gz);
        assert_eq!(decode(b"identity", Bytes::from_static(b"x"), 10)?, "x");
        // The known codings applied after an unknown one are undone, down to it.
        assert_eq!(decode(b"compress, gzip", gz.clone(), 1 << 20)?, data[..]);
        let br_gz = Bytes::from(br(&gz));
        assert_eq!(decode(b"gzip, compress, br", br_gz, 1 << 20)?, gz);
        Ok(())
    }

    #[test]
    fn the_h1_header_line_is_the_default_value() {
        let line = format!("Accept-Encoding: {ACCEPT_ENCODING}\r\n");
        assert_eq!(line.as_bytes(), super::super::h1::ACCEPT_ENCODING_LINE);
    }

    #[test]
    fn bombs_and_corrupt_bodies_fail_with_their_codes() {
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 64 * 1024);
        let e = decode(b"gzip", bomb, 1 << 20).err();
        assert_eq!(e.map(|e| e.code), Some(codes::DECODED_TOO_LARGE));
        for coding in [&b"gzip"[..], b"br", b"zstd", b"deflate"] {
            let e = decode(
                coding,
                Bytes::from_static(b"definitely not compressed"),
                1 << 20,
            );
            assert_eq!(
                e.err().map(|e| e.code),
                Some(codes::DECOMPRESSION),
                "{coding:?}"
            );
        }
    }
}
