//! The click event: the record a web app puts on the stream (see docs/events.md).

use std::borrow::Cow;

use serde::Serialize;

use crate::time::Millis;

/// What the shopper did. The funnel order is the declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    View,
    Click,
    AddToCart,
    RemoveFromCart,
    Purchase,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::View,
        EventType::Click,
        EventType::AddToCart,
        EventType::RemoveFromCart,
        EventType::Purchase,
    ];

    /// The wire name, as in docs/events.md.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::View => "view",
            EventType::Click => "click",
            EventType::AddToCart => "add_to_cart",
            EventType::RemoveFromCart => "remove_from_cart",
            EventType::Purchase => "purchase",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::parse_bytes(s.as_bytes())
    }

    /// [`EventType::parse`] of a name's bytes (no UTF-8 check needed).
    pub fn parse_bytes(s: &[u8]) -> Option<EventType> {
        match s {
            b"view" => Some(EventType::View),
            b"click" => Some(EventType::Click),
            b"add_to_cart" => Some(EventType::AddToCart),
            b"remove_from_cart" => Some(EventType::RemoveFromCart),
            b"purchase" => Some(EventType::Purchase),
            _ => None,
        }
    }

    /// Dense index (0..5), for per-type counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// A decoded, validated click event. Strings borrow from the record's bytes
/// where the JSON had no escapes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClickEvent<'a> {
    pub event_id: Cow<'a, str>,
    pub event_type: EventType,
    #[serde(serialize_with = "crate::time::serialize_rfc3339")]
    pub event_time: Millis,
    pub session_id: Cow<'a, str>,
    pub product_id: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Cow<'a, str>>,
    /// The price the shopper saw.
    pub price: f64,
    pub referrer: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Cow<'a, str>>,
}

impl ClickEvent<'_> {
    /// The event as one line of wire JSON (what a producer sends).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What the core reads of the event.
    pub fn view(&self) -> EventView<'_> {
        EventView {
            event_id: self.event_id.as_bytes(),
            event_type: self.event_type,
            event_time: self.event_time,
            session_id: self.session_id.as_bytes(),
            product_id: self.product_id.as_bytes(),
            price: self.price,
            referrer: self.referrer.as_bytes(),
            has_campaign: self.campaign.as_deref().is_some_and(|c| !c.is_empty()),
        }
    }
}

/// A decoded event as the core reads it: its strings as bytes, which the
/// core hashes and compares but never needs as text on the hot path (so
/// a record whose UTF-8 its reader checked is not checked again, nor its
/// strings cut at char boundaries or dropped as `Cow`s). Built from a
/// [`ClickEvent`] or from a record's [`crate::Layout`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventView<'a> {
    pub event_id: &'a [u8],
    pub event_type: EventType,
    pub event_time: Millis,
    pub session_id: &'a [u8],
    pub product_id: &'a [u8],
    pub price: f64,
    pub referrer: &'a [u8],
    /// A campaign that is not empty.
    pub has_campaign: bool,
}

/// A string field's bytes as text, for messages (the bytes of a decoded
/// event are UTF-8, so nothing is replaced).
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Referrers counted as social traffic in the `social_share` feature.
pub const SOCIAL_REFERRERS: [&str; 9] = [
    "instagram",
    "tiktok",
    "facebook",
    "twitter",
    "x",
    "youtube",
    "pinterest",
    "snapchat",
    "reddit",
];

/// Whether a referrer is a social network (case-insensitive).
pub fn is_social(referrer: &[u8]) -> bool {
    SOCIAL_REFERRERS
        .iter()
        .any(|s| s.as_bytes().eq_ignore_ascii_case(referrer))
}
