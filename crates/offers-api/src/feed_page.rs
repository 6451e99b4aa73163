//! The feed's answer, assembled from the index's pre-serialized offers and kept per visitor.
//!
//! A [`FeedPage`] is everything of `GET /widget/v1/offers`'s body but the server's clock:
//! `{"offers":[…],"serverTime":"` and the strong ETag over its offers. The index keeps pages in
//! a [`PageCache`] per project, keyed by the visitor's room and, only when that user has
//! personal offers, their user id: everyone in a room without personal offers shares one page.
//! A page is valid for the index generation it was built from and until the project's next
//! schedule transition, so the cache never needs a timer and can never serve a stale feed.
//! Serving a cached page copies nothing: [`FeedBody`] sends the shared bytes and the clock as two
//! chunks with an exact length. What is not shared by the page's visitors (the project's caps
//! and an identified user's recent pop-ups, SPEC §9) is appended per answer after the clock, in
//! the same uncompressed tail, and folded into that answer's ETag ([`FeedPage::etag_with`]).
//!
//! Browsers ask for compressed answers, and compressing a large feed costs far more than
//! serving it. A page compresses its shared bytes once per encoding, flushed to a byte boundary
//! and left open ([`Encoding::Brotli`]: brotli; [`Encoding::Gzip`]: gzip), and each answer
//! closes that stream with the clock as an uncompressed block: a brotli uncompressed meta-block
//! and an empty last one (RFC 7932 §9.2), or a final stored deflate block (RFC 1951 §3.2.4) and
//! the gzip trailer, its CRC-32 continued from the page's.
//!
//! Architecture invariant: a page is only ever built from one consistent view of the index (under
//! its read lock) and tagged with that view's generation; every change to the index bumps the
//! generation.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::body::{Body, Frame, SizeHint};
use sha2::{Digest, Sha256};

use crate::live::FeedFragment;

/// How many bytes of pages one project keeps; beyond, the cache starts afresh (pages only
/// save work: a miss builds the page as if there were no cache).
pub const PAGE_CACHE_BYTES: usize = 16 << 20;

/// The feed body before the server time, with its ETag.
#[derive(Debug)]
pub struct FeedPage {
    /// Strong entity tag (quoted): the first 128 bits of SHA-256 over the offers' digests.
    pub etag: Box<str>,
    /// `{"offers":[…],"serverTime":"`.
    pub head: Bytes,
    /// How many offers the page lists.
    pub offers: usize,
    /// A marker, not an answer: this room's (and user's) offers are rendered per visitor
    /// (segments, merge tags, translations), so look the visitor's own page up.
    pub per_visitor: bool,
    /// The index generation the page was built from.
    generation: u64,
    /// The project's next schedule transition when the page was built: from then on the page
    /// may be wrong.
    valid_until: Option<DateTime<Utc>>,
    /// `head` as an open brotli stream, made on first use.
    brotli: OnceLock<Option<Bytes>>,
    /// `head` as an open gzip member and the CRC-32 of `head`, made on first use.
    gzip: OnceLock<Option<(Bytes, crc32fast::Hasher)>>,
}

/// A content coding the feed answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The coding to answer a request's `Accept-Encoding` values with: brotli, else gzip, by
    /// their q-values (RFC 9110 §12.5.3; `*` stands for codings not named), else none.
    pub fn preferred<'a>(accept: impl IntoIterator<Item = &'a str>) -> Self {
        let (mut br, mut gzip, mut any) = (None, None, None);
        for item in accept.into_iter().flat_map(|v| v.split(',')) {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match name.as_str() {
                "br" => br = Some(q),
                "gzip" | "x-gzip" => gzip = Some(q),
                "*" => any = Some(q),
                _ => {}
            }
        }
        let br = br.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        if br > 0.0 && br >= gzip {
            Encoding::Brotli
        } else if gzip > 0.0 {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }
}

/// The most bytes an answer appends after the clock: the tail goes in one uncompressed block
/// (a brotli meta-block or a deflate stored block holds at most 65 535 bytes).
pub const MAX_EXTRA_BYTES: usize = 60_000;

/// Brotli quality of cached pages (compressed once per page, so better than the per-request 4).
const BROTLI_QUALITY: u32 = 6;
/// Brotli window: 4 MiB.
const BROTLI_WINDOW_BITS: u32 = 22;

fn brotli_open(data: &[u8]) -> Option<Bytes> {
    let mut writer = brotli::CompressorWriter::new(
        Vec::with_capacity(data.len() / 8 + 64),
        4096,
        BROTLI_QUALITY,
        BROTLI_WINDOW_BITS,
    );
    writer.write_all(data).ok()?;
    // A flush ends the output on a byte boundary without closing the stream.
    writer.flush().ok()?;
    Some(Bytes::copy_from_slice(writer.get_ref()))
}

/// Closes an open brotli stream with `tail`: one uncompressed meta-block (ISLAST 0, MNIBBLES 4,
/// MLEN-1 in 16 bits, ISUNCOMPRESSED 1, padding to the byte), then an empty last meta-block.
fn brotli_close(tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tail.len() + 4);
    if let Some(last) = tail.len().checked_sub(1).filter(|n| *n < 1 << 16) {
        let bits = ((last as u32) << 3) | (1 << 19);
        out.extend_from_slice(&bits.to_le_bytes()[..3]);
        out.extend_from_slice(tail);
    }
    out.push(0b11); // ISLAST, ISLASTEMPTY
    out
}

fn gzip_open(data: &[u8]) -> Option<(Bytes, crc32fast::Hasher)> {
    use flate2::{Compress, Compression, FlushCompress};
    // RFC 1952 header: deflate, no flags, no time, unknown OS.
    let mut out = Vec::with_capacity(data.len() / 6 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut deflate = Compress::new(Compression::default(), false);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let consumed = usize::try_from(deflate.total_in()).ok()?;
        deflate
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .ok()?;
        // The sync flush is complete once all input is in and the output did not fill up.
        if deflate.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(data);
    Some((Bytes::from(out), crc))
}

/// Closes an open gzip member with `tail` as a final stored block, then CRC-32 and size.
fn gzip_close(tail: &[u8], crc: &crc32fast::Hasher, head_len: usize) -> Vec<u8> {
    let len = u16::try_from(tail.len()).unwrap_or(u16::MAX);
    let tail = &tail[..usize::from(len)];
    let mut out = Vec::with_capacity(tail.len() + 13);
    out.push(1); // BFINAL 1, BTYPE 00 (stored), padding to the byte
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(tail);
    let mut crc = crc.clone();
    crc.update(tail);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&((head_len + tail.len()) as u32).to_le_bytes());
    out
}

impl FeedPage {
    /// A page of `fragments`, in order, for index `generation`.
    pub fn new(
        fragments: &[Arc<FeedFragment>],
        generation: u64,
        valid_until: Option<DateTime<Utc>>,
    ) -> Self {
        let mut hasher = Sha256::new();
        let size: usize = fragments.iter().map(|f| f.json.len() + 1).sum();
        let mut head = Vec::with_capacity(size + 32);
        head.extend_from_slice(b"{\"offers\":[");
        for (i, fragment) in fragments.iter().enumerate() {
            if i > 0 {
                head.push(b',');
            }
            head.extend_from_slice(fragment.json.as_bytes());
            hasher.update(fragment.digest);
        }
        head.extend_from_slice(b"],\"serverTime\":\"");
        let digest = hasher.finalize();
        Self {
            etag: format!("\"{}\"", hex::encode(&digest[..16])).into_boxed_str(),
            head: Bytes::from(head),
            offers: fragments.len(),
            per_visitor: false,
            generation,
            valid_until,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    /// The marker kept under a room's key when its feed is rendered per visitor.
    pub fn per_visitor(generation: u64, valid_until: Option<DateTime<Utc>>) -> Self {
        Self {
            per_visitor: true,
            ..Self::new(&[], generation, valid_until)
        }
    }

    /// Whether the page still answers for index `generation` at `now`.
    pub fn is_valid(&self, generation: u64, now: DateTime<Utc>) -> bool {
        self.generation == generation && self.valid_until.is_none_or(|t| now < t)
    }

    /// The whole body, with `server_time` (RFC 3339) as the server's clock, in `encoding`
    /// ([`FeedPage::body_with`] nothing appended).
    pub fn body(&self, server_time: &str, encoding: Encoding) -> (FeedBody, Encoding) {
        self.body_with(server_time, "", encoding)
    }

    /// The entity tag of an answer that appends `extra` to this page: the page's own without
    /// it, else the first 128 bits of SHA-256 over the page's tag and `extra`.
    pub fn etag_with(&self, extra: &str) -> std::borrow::Cow<'_, str> {
        if extra.is_empty() {
            return std::borrow::Cow::Borrowed(&self.etag);
        }
        let mut hasher = Sha256::new();
        hasher.update(self.etag.as_bytes());
        hasher.update(extra.as_bytes());
        let digest = hasher.finalize();
        std::borrow::Cow::Owned(format!("\"{}\"", hex::encode(&digest[..16])))
    }

    /// The whole body, with `server_time` (RFC 3339) as the server's clock and then `extra`
    /// (members of the answer's object, each starting with `,`; at most [`MAX_EXTRA_BYTES`]), in
    /// `encoding`; returns the encoding used (identity if compressing failed, which it should
    /// not).
    pub fn body_with(
        &self,
        server_time: &str,
        extra: &str,
        encoding: Encoding,
    ) -> (FeedBody, Encoding) {
        let mut tail = Vec::with_capacity(server_time.len() + extra.len() + 2);
        tail.extend_from_slice(server_time.as_bytes());
        tail.push(b'"');
        tail.extend_from_slice(extra.as_bytes());
        tail.push(b'}');
        let compressed = match encoding {
            Encoding::Identity => None,
            Encoding::Brotli => self
                .brotli
                .get_or_init(|| brotli_open(&self.head))
                .as_ref()
                .map(|head| (head.clone(), brotli_close(&tail))),
            Encoding::Gzip => self
                .gzip
                .get_or_init(|| gzip_open(&self.head))
                .as_ref()
                .map(|(head, crc)| (head.clone(), gzip_close(&tail, crc, self.head.len()))),
        };
        let (head, tail, encoding) = match compressed {
            Some((head, tail)) => (head, tail, encoding),
            None => (self.head.clone(), tail, Encoding::Identity),
        };
        (
            FeedBody {
                head: Some(head),
                tail: Some(Bytes::from(tail)),
            },
            encoding,
        )
    }

    /// Bytes the page holds (for the cache's budget).
    fn weight(&self) -> usize {
        // The compressed copies are made later; a feed compresses to well under a quarter.
        self.head.len() + self.head.len() / 4 + self.etag.len() + 64
    }
}

/// A feed body: the page's shared bytes, then the server time; exact length, no copy.
#[derive(Debug)]
pub struct FeedBody {
    head: Option<Bytes>,
    tail: Option<Bytes>,
}

impl FeedBody {
    /// The body as one buffer.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in [&self.head, &self.tail].into_iter().flatten() {
            out.extend_from_slice(part);
        }
        out
    }
}

impl Body for FeedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(
            this.head
                .take()
                .or_else(|| this.tail.take())
                .map(|bytes| Ok(Frame::data(bytes))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.tail.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let len = [&self.head, &self.tail]
            .into_iter()
            .flatten()
            .map(|b| b.len() as u64)
            .sum();
        SizeHint::with_exact(len)
    }
}

/// One project's pages, keyed by visitor (see the module doc), all of one generation.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: HashMap<Box<str>, Arc<FeedPage>>,
    generation: u64,
    bytes: usize,
}

/// The cache key of a visitor: the room, the user only when their page is their own (personal
/// offers, or offers rendered per visitor), and for a page rendered per visitor its `variant`
/// (language and context version). Length-prefixed, so no room and user pair can spell
/// another's key.
pub fn page_key(room: &str, user: Option<&str>, variant: &str) -> String {
    let id = user.unwrap_or("");
    let mut key = String::with_capacity(room.len() + id.len() + variant.len() + 10);
    key.push_str(&room.len().to_string());
    key.push(if user.is_some() { 'u' } else { 'a' });
    key.push_str(room);
    key.push_str(&id.len().to_string());
    key.push(':');
    key.push_str(id);
    key.push_str(variant);
    key
}

impl PageCache {
    /// The page under `key`, if it still answers for `generation` at `now`.
    pub fn get(&self, key: &str, generation: u64, now: DateTime<Utc>) -> Option<Arc<FeedPage>> {
        self.pages
            .get(key)
            .filter(|page| page.is_valid(generation, now))
            .cloned()
    }

    /// Keeps `page` under `key`. Pages of an older generation go first; past the budget the
    /// cache starts afresh.
    pub fn put(&mut self, key: String, page: Arc<FeedPage>) {
        if page.generation != self.generation {
            if page.generation < self.generation {
                return;
            }
            self.pages.clear();
            self.bytes = 0;
            self.generation = page.generation;
        }
        let weight = page.weight() + key.len();
        if self.bytes + weight > PAGE_CACHE_BYTES {
            self.pages.clear();
            self.bytes = 0;
        }
        self.bytes += weight;
        if let Some(old) = self.pages.insert(key.into_boxed_str(), page) {
            self.bytes = self.bytes.saturating_sub(old.weight());
        }
    }

    /// How many pages are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether no page is kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(json: &str) -> Arc<FeedFragment> {
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&Sha256::digest(json.as_bytes())[..16]);
        Arc::new(FeedFragment {
            json: json.into(),
            digest,
        })
    }

    #[test]
    fn a_page_is_the_feed_body_with_the_clock_appended() {
        let page = FeedPage::new(&[fragment("{\"id\":2}"), fragment("{\"id\":1}")], 1, None);
        let (body, _) = page.body("2026-12-02T10:00:00.000Z", Encoding::Identity);
        assert_eq!(body.size_hint().exact(), Some(body.to_vec().len() as u64));
        let value: serde_json::Value = serde_json::from_slice(&body.to_vec()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"offers": [{"id": 2}, {"id": 1}], "serverTime": "2026-12-02T10:00:00.000Z"})
        );
        assert_eq!(page.offers, 2);
        let empty = FeedPage::new(&[], 1, None)
            .body("t", Encoding::Identity)
            .0
            .to_vec();
        assert_eq!(empty, b"{\"offers\":[],\"serverTime\":\"t\"}");
    }

    #[test]
    fn an_answer_s_own_part_follows_the_clock_compressed_or_not() {
        let page = FeedPage::new(&[fragment("{\"id\":1}")], 1, None);
        let extra = format!(
            ",\"caps\":{{\"perDay\":2}},\"recentPopups\":[{}]",
            vec!["{\"id\":\"e\",\"at\":\"2026-12-02T09:00:00.000Z\"}"; 200].join(",")
        );
        for encoding in [Encoding::Identity, Encoding::Brotli, Encoding::Gzip] {
            let (body, _) = page.body_with("t", &extra, encoding);
            let value: serde_json::Value =
                serde_json::from_slice(&decode(&body.to_vec(), encoding)).unwrap();
            assert_eq!(value["caps"]["perDay"], 2, "{encoding:?}");
            assert_eq!(value["recentPopups"].as_array().unwrap().len(), 200);
            assert_eq!(value["serverTime"], "t");
        }
        assert_eq!(page.etag_with(""), page.etag.as_ref());
        assert_ne!(page.etag_with(&extra), page.etag.as_ref());
        assert_ne!(page.etag_with(&extra), page.etag_with(",\"caps\":{}"));
        assert_eq!(page.etag_with(&extra).len(), 34);
    }

    #[test]
    fn the_etag_follows_the_offers_and_their_order() {
        let (a, b) = (fragment("{\"id\":1}"), fragment("{\"id\":2}"));
        let ab = FeedPage::new(&[a.clone(), b.clone()], 1, None).etag;
        assert_eq!(ab, FeedPage::new(&[a.clone(), b.clone()], 9, None).etag);
        assert_ne!(ab, FeedPage::new(&[b.clone(), a.clone()], 1, None).etag);
        assert_ne!(ab, FeedPage::new(&[a], 1, None).etag);
        assert!(ab.starts_with('"') && ab.ends_with('"') && ab.len() == 34);
    }

    #[test]
    fn pages_expire_with_the_generation_and_at_the_next_transition() {
        let now = Utc::now();
        let soon = now + chrono::Duration::seconds(10);
        let page = Arc::new(FeedPage::new(&[], 3, Some(soon)));
        let mut cache = PageCache::default();
        cache.put(page_key("r", None, ""), page);
        assert!(cache.get(&page_key("r", None, ""), 3, now).is_some());
        assert!(
            cache.get(&page_key("r", None, ""), 4, now).is_none(),
            "newer index"
        );
        assert!(
            cache.get(&page_key("r", None, ""), 3, soon).is_none(),
            "transition reached"
        );
        // A page of an older generation is not kept; a newer one drops the older pages.
        cache.put(
            page_key("q", None, ""),
            Arc::new(FeedPage::new(&[], 2, None)),
        );
        assert!(cache.get(&page_key("q", None, ""), 2, now).is_none());
        cache.put(
            page_key("q", None, ""),
            Arc::new(FeedPage::new(&[], 5, None)),
        );
        assert_eq!(cache.len(), 1);
    }

    fn decode(body: &[u8], encoding: Encoding) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match encoding {
            Encoding::Identity => out.extend_from_slice(body),
            Encoding::Brotli => {
                brotli::Decompressor::new(body, 4096)
                    .read_to_end(&mut out)
                    .expect("valid brotli");
            }
            Encoding::Gzip => {
                // GzDecoder checks the CRC-32 and the size.
                flate2::read::GzDecoder::new(body)
                    .read_to_end(&mut out)
                    .expect("valid gzip");
            }
        }
        out
    }

    #[test]
    fn compressed_pages_decode_to_the_same_body_with_any_clock() {
        let fragments: Vec<Arc<FeedFragment>> = (0..300)
            .map(|i| {
                fragment(&format!(
                    "{{\"id\":{i},\"title\":\"Offer {i}\",\"text\":\"Some text of offer {}\"}}",
                    i * 7919
                ))
            })
            .collect();
        for page in [
            FeedPage::new(&fragments, 1, None),
            FeedPage::new(&fragments[..1], 1, None),
            FeedPage::new(&[], 1, None),
        ] {
            for clock in ["2026-12-02T10:00:00.000Z", "2026-12-02T10:00:00.001Z", ""] {
                let (plain, _) = page.body(clock, Encoding::Identity);
                let plain = plain.to_vec();
                for encoding in [Encoding::Brotli, Encoding::Gzip] {
                    let (body, used) = page.body(clock, encoding);
                    assert_eq!(used, encoding);
                    let bytes = body.to_vec();
                    assert_eq!(body.size_hint().exact(), Some(bytes.len() as u64));
                    assert_eq!(decode(&bytes, encoding), plain, "{encoding:?} {clock:?}");
                    if page.offers == 300 {
                        assert!(bytes.len() * 4 < plain.len(), "{encoding:?} compresses");
                    }
                }
            }
        }
    }

    #[test]
    fn accept_encoding_picks_brotli_then_gzip_by_q_value() {
        let pick = |v: &str| Encoding::preferred([v]);
        assert_eq!(pick("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(pick("gzip"), Encoding::Gzip);
        assert_eq!(pick("br;q=0.5, gzip;q=0.8"), Encoding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0"), Encoding::Identity);
        assert_eq!(pick("identity"), Encoding::Identity);
        assert_eq!(pick("*"), Encoding::Brotli);
        assert_eq!(pick("*;q=0.1, br;q=0"), Encoding::Gzip);
        assert_eq!(pick(""), Encoding::Identity);
        assert_eq!(pick("BR"), Encoding::Brotli);
        assert_eq!(Encoding::preferred([]), Encoding::Identity);
    }

    #[test]
    fn keys_never_collide_across_room_and_user() {
        assert_ne!(page_key("ab", Some("c"), ""), page_key("a", Some("bc"), ""));
        assert_ne!(page_key("a", None, ""), page_key("a", Some(""), ""));
        assert_ne!(page_key("1a", None, ""), page_key("1", Some("a"), ""));
        assert_ne!(page_key("r", Some("u1"), ""), page_key("r", Some("u"), "1"));
        assert_ne!(
            page_key("r", Some("u"), "de#1"),
            page_key("r", Some("u"), "de#2")
        );
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let big = fragment(&format!("\"{}\"", "x".repeat(1 << 20)));
        let mut cache = PageCache::default();
        for i in 0..40 {
            cache.put(
                page_key(&format!("room{i}"), None, ""),
                Arc::new(FeedPage::new(std::slice::from_ref(&big), 1, None)),
            );
            assert!(cache.bytes <= PAGE_CACHE_BYTES);
        }
        assert!(!cache.is_empty() && cache.len() < 40);
    }
}
