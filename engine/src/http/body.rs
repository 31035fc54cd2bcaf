//! A request body: one or more chunks of bytes sent back to back. Almost every body is one
//! chunk; a `multipart:` body is its part headers and text interleaved with the shared
//! buffers of its files, so a file is never copied to send it (each chunk is a `Bytes`,
//! cloned by reference count). HTTP/1.1 writes the chunks after the head; HTTP/2 hands
//! them to hyper as data frames ([`ReqBody`]) with their exact length.

use bytes::{Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A request body (see the module docs). The default is empty: no body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    first: Bytes,
    rest: Vec<Bytes>,
    len: usize,
}

impl Body {
    /// A body of these chunks, in order (empty ones are dropped).
    pub fn from_chunks(chunks: Vec<Bytes>) -> Body {
        let mut it = chunks.into_iter().filter(|c| !c.is_empty());
        let first = it.next().unwrap_or_default();
        let rest: Vec<Bytes> = it.collect();
        let len = first.len() + rest.iter().map(Bytes::len).sum::<usize>();
        Body { first, rest, len }
    }

    /// Its length in bytes (the `Content-Length`).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunks in order.
    pub fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        std::iter::once(&self.first)
            .chain(&self.rest)
            .filter(|c| !c.is_empty())
    }

    /// The body in one buffer: the one chunk as is, several copied together (only to
    /// compress a body or compare one in tests).
    pub fn to_bytes(&self) -> Bytes {
        if self.rest.is_empty() {
            return self.first.clone();
        }
        let mut out = BytesMut::with_capacity(self.len);
        for c in self.chunks() {
            out.extend_from_slice(c);
        }
        out.freeze()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body {
            len: b.len(),
            first: b,
            rest: Vec::new(),
        }
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Bytes::from_static(s).into()
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Bytes::from(v).into()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Bytes::from(s).into()
    }
}

/// A [`Body`] as hyper's HTTP/2 request body: each chunk one data frame, the exact length
/// known (hyper sends it as `content-length`).
#[derive(Debug)]
pub(crate) struct ReqBody {
    chunks: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl ReqBody {
    pub(crate) fn new(body: &Body) -> ReqBody {
        ReqBody {
            chunks: body.chunks().cloned().collect::<Vec<_>>().into_iter(),
            remaining: body.len() as u64,
        }
    }
}

impl hyper::body::Body for ReqBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.chunks.next() {
            Some(c) => {
                self.remaining = self.remaining.saturating_sub(c.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(c))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn chunks_keep_their_order_and_length_and_share_their_buffers() {
        let file = Bytes::from(vec![7u8; 1000]);
        let b = Body::from_chunks(vec![
            Bytes::from_static(b"head"),
            Bytes::new(),
            file.clone(),
            Bytes::from_static(b"tail"),
        ]);
        assert_eq!(b.len(), 1008);
        let chunks: Vec<&Bytes> = b.chunks().collect();
        assert_eq!(chunks.len(), 3);
        // The file's chunk is the same buffer, not a copy.
        assert_eq!(chunks[1].as_ptr(), file.as_ptr());
        let all = b.to_bytes();
        assert_eq!(&all[..4], b"head");
        assert_eq!(&all[1004..], b"tail");
    }

    #[test]
    fn an_empty_body_has_no_chunks() {
        let b = Body::default();
        assert!(b.is_empty());
        assert_eq!(b.chunks().count(), 0);
        assert!(Body::from_chunks(vec![Bytes::new()]).is_empty());
    }
}
