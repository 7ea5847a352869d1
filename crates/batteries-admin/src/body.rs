//! [`AdminBody`], the response body of every admin response.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body as HttpBody;

/// The response body of every admin response: whole (pages, JSON, assets) or streamed
/// (exports, see [`AdminSite::build`](crate::AdminSite::build)).
///
/// It implements [`http_body::Body`] (`Data = Bytes`), so axum's `nest_service`, hyper
/// and tower layers take it as it is; `From<String>`, `From<Bytes>` and
/// `From<&'static str>` make whole bodies (the middleware's own answers). A streamed
/// body ends with an error (an [`std::io::Error`]) when the stream breaks off, for
/// example when the database fails half-way through an export: the server then aborts
/// the response instead of sending a silently truncated file. [`size_hint`] is exact
/// for whole bodies only.
///
/// [`size_hint`]: http_body::Body::size_hint
pub struct AdminBody {
    kind: BodyKind,
}

enum BodyKind {
    Full(Option<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>),
}

impl AdminBody {
    /// An empty body.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            kind: BodyKind::Full(None),
        }
    }

    /// A body of the chunks sent on `tx`, ending when every sender is dropped (or with
    /// the first error received).
    pub(crate) fn channel(
        capacity: usize,
    ) -> (tokio::sync::mpsc::Sender<std::io::Result<Bytes>>, Self) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (
            tx,
            Self {
                kind: BodyKind::Stream(rx),
            },
        )
    }
}

impl Default for AdminBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for AdminBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::Full(b) => f
                .debug_struct("AdminBody")
                .field("len", &b.as_ref().map_or(0, Bytes::len))
                .finish(),
            BodyKind::Stream(_) => f.debug_struct("AdminBody").field("stream", &true).finish(),
        }
    }
}

impl From<Bytes> for AdminBody {
    fn from(bytes: Bytes) -> Self {
        Self {
            kind: BodyKind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }
}

impl From<String> for AdminBody {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for AdminBody {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl From<Vec<u8>> for AdminBody {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl HttpBody for AdminBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, std::io::Error>>> {
        match &mut self.get_mut().kind {
            BodyKind::Full(bytes) => {
                Poll::Ready(bytes.take().map(|b| Ok(http_body::Frame::data(b))))
            }
            BodyKind::Stream(rx) => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(http_body::Frame::data(b)))),
                Poll::Ready(Some(Err(e))) => {
                    rx.close();
                    Poll::Ready(Some(Err(e)))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, BodyKind::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.kind {
            BodyKind::Full(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            BodyKind::Stream(_) => http_body::SizeHint::default(),
        }
    }
}
