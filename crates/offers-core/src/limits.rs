//! Size limits of what a client sends, in one place: the widget's ids and the request line.
//!
//! The API answers a request over these limits with its error shape (a 400 naming the
//! parameter, or a 414 / 431 naming the parameter or header where one can be named), and the
//! OpenAPI description and README quote them from here.

use crate::text::EXTERNAL_ID_MAX_CHARS;

/// The most characters a room id (`room`, `externalRoomIds`) may have, after trimming.
pub const ROOM_ID_MAX_CHARS: usize = EXTERNAL_ID_MAX_CHARS;

/// The most characters a user id (`user`, `externalUserIds`) may have, after trimming.
pub const USER_ID_MAX_CHARS: usize = EXTERNAL_ID_MAX_CHARS;

/// The most bytes a request target (path and query, as sent, percent-encoded) may have.
///
/// The longest legitimate widget query (a 64-character key, a room and a user id of 128
/// four-byte characters each, all percent-encoded, a 64-digit signature) is about 3.3 KB.
pub const MAX_REQUEST_TARGET_BYTES: usize = 8 * 1024;

/// The most bytes all request headers together (names and values) may have.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The most bytes a query string may carry for `len` characters of one id, percent-encoded
/// (at most four UTF-8 bytes per character, three bytes per encoded byte).
pub const fn encoded_id_bytes(len: usize) -> usize {
    len * 4 * 3
}

/// The longest legitimate widget query's request target, in bytes.
pub const LONGEST_WIDGET_TARGET_BYTES: usize = "/widget/v1/stream?key=".len()
    + 64
    + "&room=".len()
    + encoded_id_bytes(ROOM_ID_MAX_CHARS)
    + "&user=".len()
    + encoded_id_bytes(USER_ID_MAX_CHARS)
    + "&sig=".len()
    + 64
    + "&utcOffset=-1080".len();

// Checked when compiling: every legitimate widget call fits the limits.
const _: () = assert!(LONGEST_WIDGET_TARGET_BYTES < MAX_REQUEST_TARGET_BYTES);
const _: () = assert!(MAX_REQUEST_TARGET_BYTES < MAX_HEADER_BYTES);
