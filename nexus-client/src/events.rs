//! The live event stream (`GET /api/v1/events`): server-sent events parsed into
//! [`types::Event`]s.
//!
//! ```no_run
//! # async fn run(me: nexus_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let mut last = None;
//! loop {
//!     let mut events = me.events(last.as_deref()).await?;
//!     while let Some(event) = events.next().await {
//!         let event = event?;
//!         if event.event.type_ == nexus_client::types::EventType::Reset {
//!             // Missed events: read the state again (list_bots, bot_orders…).
//!         }
//!         println!("{:?} {:?}", event.event.type_, event.event.bot_id);
//!     }
//!     // The stream ended (sign-out, a restart): resume after the last event seen.
//!     last = events.last_event_id().map(str::to_owned);
//! }
//! # }
//! ```

use futures::StreamExt;
use thiserror::Error;

use crate::{ByteStream, Client, Error, types};

/// An event as received: its id (what [`Client::events`] resumes after) and the event.
#[derive(Debug, Clone)]
pub struct Received {
    /// The SSE `id`; `None` only for a `reset` when nothing is held to resume from.
    pub id: Option<String>,
    /// The event.
    pub event: types::Event,
}

/// The stream could not be read.
#[derive(Debug, Error)]
pub enum EventsError {
    /// The connection failed.
    #[error("the event stream failed: {0}")]
    Connection(#[source] reqwest::Error),
    /// The stream is not UTF-8 text.
    #[error("the event stream is not UTF-8 text")]
    NotText,
    /// An event's data is not an [`types::Event`].
    #[error("an event does not parse: {0}")]
    Decode(#[source] serde_json::Error),
}

/// One user's open event stream.
pub struct EventStream {
    body: ByteStream,
    parser: Parser,
    last_id: Option<String>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("last_id", &self.last_id)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// The next event; `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<Result<Received, EventsError>> {
        loop {
            if let Some(frame) = self.parser.frame() {
                if let Some(id) = &frame.id {
                    self.last_id = Some(id.clone());
                }
                let Some(data) = frame.data else {
                    // A frame without data (the retry delay) is no event.
                    continue;
                };
                return Some(
                    serde_json::from_str(&data)
                        .map(|event| Received {
                            id: frame.id,
                            event,
                        })
                        .map_err(EventsError::Decode),
                );
            }
            match self.body.next().await? {
                Ok(bytes) => {
                    if let Err(e) = self.parser.push(&bytes) {
                        return Some(Err(e));
                    }
                }
                Err(e) => return Some(Err(EventsError::Connection(e))),
            }
        }
    }

    /// The id of the last event received: what to resume after.
    #[must_use]
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }
}

impl Client {
    /// Opens this session's event stream, after the event `last_event_id` when given
    /// (what was missed since comes first, or a `reset`).
    ///
    /// # Errors
    /// The API's answer when it refuses (`401`, `429 too_many_streams`, `503`).
    pub async fn events(
        &self,
        last_event_id: Option<&str>,
    ) -> Result<EventStream, Error<types::ErrorBody>> {
        let mut request = self.stream_events();
        if let Some(id) = last_event_id {
            request = request.last_event_id(id);
        }
        let body = request.send().await?.into_inner();
        Ok(EventStream {
            body,
            parser: Parser::default(),
            last_id: last_event_id.map(str::to_owned),
        })
    }
}

/// One SSE frame's fields of interest.
#[derive(Debug, Default, PartialEq, Eq)]
struct Frame {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

/// Splits `text/event-stream` into frames (the WHATWG rules this API uses: `\n` line
/// ends, `field: value` lines, a blank line ending a frame, comments ignored).
#[derive(Debug, Default)]
struct Parser {
    pending: Vec<u8>,
    text: String,
}

impl Parser {
    fn push(&mut self, bytes: &[u8]) -> Result<(), EventsError> {
        self.pending.extend_from_slice(bytes);
        // A character split across chunks waits for the rest of it.
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(all) => all.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(EventsError::NotText),
        };
        let rest = self.pending.split_off(valid);
        let text = String::from_utf8(std::mem::replace(&mut self.pending, rest))
            .map_err(|_| EventsError::NotText)?;
        self.text.push_str(&text.replace("\r\n", "\n"));
        Ok(())
    }

    fn frame(&mut self) -> Option<Frame> {
        loop {
            let end = self.text.find("\n\n")?;
            let block: String = self.text.drain(..end + 2).collect();
            let mut frame = Frame::default();
            let mut any = false;
            for line in block.lines() {
                if line.is_empty() || line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                match field {
                    "id" => frame.id = Some(value),
                    "event" => frame.event = Some(value),
                    "data" => {
                        frame.data = Some(match frame.data.take() {
                            Some(before) => before + "\n" + &value,
                            None => value,
                        });
                    }
                    _ => {}
                }
                any = true;
            }
            if any {
                return Some(frame);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let text = "retry: 3000\n\n:\n\nid: a-1\nevent: bot\ndata: {\"x\":\"é\"}\n\nid: a-2\nevent: order\ndata: 1\ndata: 2\n\n";
        let bytes = text.as_bytes();
        for split in 0..bytes.len() {
            let mut parser = Parser::default();
            parser.push(&bytes[..split]).unwrap();
            let mut frames = Vec::new();
            while let Some(f) = parser.frame() {
                frames.push(f);
            }
            parser.push(&bytes[split..]).unwrap();
            while let Some(f) = parser.frame() {
                frames.push(f);
            }
            assert_eq!(
                frames,
                [
                    Frame::default(),
                    Frame {
                        id: Some("a-1".into()),
                        event: Some("bot".into()),
                        data: Some("{\"x\":\"é\"}".into()),
                    },
                    Frame {
                        id: Some("a-2".into()),
                        event: Some("order".into()),
                        data: Some("1\n2".into()),
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn what_is_not_text_is_refused() {
        let mut parser = Parser::default();
        assert!(matches!(
            parser.push(b"data: \xff\n\n"),
            Err(EventsError::NotText)
        ));
    }
}
