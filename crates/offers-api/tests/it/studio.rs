//! What the Studio needs beyond the partner API: the project's one saved draft, image uploads
//! and the served images, "why (not) shown", and figures per local day. Every test touching
//! storage runs on SQLite and on PostgreSQL (`common::both_backends!`); images go to a real
//! directory (the test's temp dir), to memory, and — when `moto_server` can be started — to
//! an S3-compatible endpoint on loopback through the real binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use offers_api::auth::Role;
use offers_api::media::{MAX_IMAGE_BYTES, MediaLocation, MediaStore};
use offers_api::store::{EventKind, NewEvent};
use offers_core::format_timestamp;
use serde_json::{Value, json};

// ---------------------------------------------------------------- tiny valid images

/// Generators of small, valid images of any size (no image crate: the bytes are written out).
mod images {
    /// CRC-32 (ISO-HDLC), as PNG chunks use.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(data);
        out.extend_from_slice(&typed);
        out.extend_from_slice(&crc32(&typed).to_be_bytes());
    }

    /// A grey 8-bit greyscale PNG: IHDR, one IDAT of stored (uncompressed) deflate blocks, IEND.
    pub(super) fn png(width: u32, height: u32) -> Vec<u8> {
        let mut raw = Vec::new();
        for _ in 0..height {
            raw.push(0); // filter: none
            raw.extend(std::iter::repeat_n(0x80u8, width as usize));
        }
        let mut zlib = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
        for (i, block) in blocks.iter().enumerate() {
            zlib.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            zlib.extend_from_slice(&len.to_le_bytes());
            zlib.extend_from_slice(&(!len).to_le_bytes());
            zlib.extend_from_slice(block);
        }
        zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8 bits, greyscale, deflate, no filter/interlace
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &zlib);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A grey baseline greyscale JPEG: every 8×8 block is DC 0 with no AC coefficients, coded
    /// with one-symbol Huffman tables (two bits per block).
    pub(super) fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        // DQT: table 0, all ones.
        out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
        out.extend(std::iter::repeat_n(1u8, 64));
        // SOF0: 8-bit, height, width, one component (id 1, 1×1 sampling, table 0).
        out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
        // DHT: DC table 0 and AC table 0, each one code of length 1 for symbol 0.
        for class in [0x00, 0x10] {
            out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
            out.extend(std::iter::repeat_n(0u8, 15));
            out.push(0x00);
        }
        // SOS: one component, tables 0/0, full spectrum.
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        let blocks = usize::from(width.div_ceil(8)) * usize::from(height.div_ceil(8));
        let bits = blocks * 2; // "0" (DC difference 0) + "0" (end of block)
        let mut data = vec![0u8; bits.div_ceil(8)];
        if bits % 8 != 0 {
            let last = data.len() - 1;
            data[last] = 0xFF >> (bits % 8); // pad with one-bits
        }
        out.extend_from_slice(&data);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    /// A lossless WebP (VP8L) whose five prefix codes have one symbol each: every pixel is
    /// opaque black and costs no bits, whatever the size.
    pub(super) fn webp(width: u32, height: u32) -> Vec<u8> {
        let mut bits = (Vec::new(), 0u64, 0u32);
        let mut put = |value: u32, n: u32| {
            bits.1 |= u64::from(value) << bits.2;
            bits.2 += n;
            while bits.2 >= 8 {
                bits.0.push(bits.1 as u8);
                bits.1 >>= 8;
                bits.2 -= 8;
            }
        };
        put(width - 1, 14);
        put(height - 1, 14);
        put(0, 1); // alpha not used
        put(0, 3); // version 0
        put(0, 1); // no transform
        put(0, 1); // no color cache
        put(0, 1); // no meta prefix codes
        for symbol in [0u32, 0, 0, 255, 0] {
            // green, red, blue, alpha, distance: a simple code with one symbol
            put(1, 1);
            put(0, 1);
            if symbol < 2 {
                put(0, 1);
                put(symbol, 1);
            } else {
                put(1, 1);
                put(symbol, 8);
            }
        }
        if bits.2 > 0 {
            bits.0.push(bits.1 as u8);
        }
        let mut payload = vec![0x2F];
        payload.extend_from_slice(&bits.0);
        let mut chunk = b"VP8L".to_vec();
        chunk.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        chunk.extend_from_slice(&payload);
        if payload.len() % 2 == 1 {
            chunk.push(0);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4 + chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&chunk);
        out
    }

    /// A GIF89a canvas of `width`×`height` with one 1×1 frame (the classic minimal LZW data).
    pub(super) fn gif(width: u16, height: u16) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        out.extend_from_slice(&[0x80, 0x00, 0x00]); // global color table of 2 colors
        out.extend_from_slice(&[0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF]);
        out.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0x00]); // 1×1 frame at 0,0
        out.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]); // LZW: clear, 0, end
        out.push(0x3B);
        out
    }
}

// ---------------------------------------------------------------- helpers

/// A multipart body with one file part, as a browser's FormData sends it.
fn file_multipart(
    part: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "----offers-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"{part}\"; filename=\"{filename}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

const HOST: &str = "offers.test:8080";

/// `POST /external/media{query}` with one `file` part, as `creds`/`role`, `Host: offers.test:8080`.
async fn upload_as(
    t: &TestApp,
    creds: &Creds,
    role: Role,
    query: &str,
    filename: &str,
    bytes: &[u8],
) -> Resp {
    let (content_type, body) = file_multipart("file", filename, "application/octet-stream", bytes);
    t.send(
        t.req(
            Method::POST,
            &format!("/external/media{query}"),
            creds,
            role,
        )
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap(),
    )
    .await
}

async fn upload(t: &TestApp, query: &str, filename: &str, bytes: &[u8]) -> Resp {
    upload_as(t, &t.a, Role::Editor, query, filename, bytes).await
}

async fn get_public(t: &TestApp, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    t.send(req.body(Body::empty()).unwrap()).await
}

/// The path of an uploaded image's URL.
fn media_path(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn draft_req(
    t: &TestApp,
    method: Method,
    creds: &Creds,
    role: Role,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    let mut req = t.req(method, "/external/draft", creds, role);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(bytes) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(bytes.to_vec())
        }
        None => Body::empty(),
    };
    t.send(req.body(body).unwrap()).await
}

async fn put_draft(t: &TestApp, creds: &Creds, if_match: Option<&str>, body: &str) -> Resp {
    let headers: Vec<(&str, &str)> = if_match.map(|m| ("if-match", m)).into_iter().collect();
    draft_req(
        t,
        Method::PUT,
        creds,
        Role::Editor,
        &headers,
        Some(body.as_bytes()),
    )
    .await
}

async fn get_draft(t: &TestApp, creds: &Creds) -> Resp {
    draft_req(t, Method::GET, creds, Role::Viewer, &[], None).await
}

fn etag(r: &Resp) -> String {
    r.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?}", r.headers))
        .to_owned()
}

// ---------------------------------------------------------------- drafts

/// A draft as the Studio holds it: invalid on purpose (work in progress), non-ASCII, numbers
/// whose text must survive (`1.50`), keys in a non-alphabetical order.
const DRAFT: &str = r##"{"title": "Ünïcode ✓ far too long for a title, still a draft", "template": 12, "price": 1.50, "templateData": {"bgColor": "#zzz", "alignment": "left"}, "externalUserIds": ["u1", "u2"]}"##;

both_backends!(draft_round_trip_and_conditional_writes, |t| {
    // Nothing saved yet.
    get_draft(&t, &t.a)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");

    // Save: 200 {"updatedAt"} with an ETag; the draft is not validated.
    let body = format!(r#"{{"draft": {DRAFT}, "editing": null}}"#);
    let saved = put_draft(&t, &t.a, None, &body).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let first_tag = etag(&saved);
    assert!(first_tag.starts_with('"') && first_tag.ends_with('"'));
    let updated_at = saved.json()["updatedAt"].as_str().unwrap().to_owned();
    assert_eq!(saved.json().as_object().unwrap().len(), 1);
    assert!(offers_core::parse_timestamp(&updated_at).is_ok());
    assert!(
        updated_at.ends_with('Z') && updated_at.len() == 24,
        "{updated_at}"
    );

    // Read back as a viewer: exactly as sent, same tag and time.
    let got = get_draft(&t, &t.a).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    assert_eq!(etag(&got), first_tag);
    assert!(
        got.text().contains(DRAFT),
        "the draft's text is kept byte for byte: {}",
        got.text()
    );
    let v = got.json();
    assert_eq!(v["draft"], serde_json::from_str::<Value>(DRAFT).unwrap());
    assert_eq!(v["editing"], Value::Null);
    assert_eq!(v["updatedAt"], updated_at.as_str());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["draft", "editing", "updatedAt"]);
    // Revalidation.
    let same = draft_req(
        &t,
        Method::GET,
        &t.a,
        Role::Viewer,
        &[("if-none-match", first_tag.as_str())],
        None,
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);

    // A save made from the current version succeeds and changes the tag.
    let second = put_draft(
        &t,
        &t.a,
        Some(&first_tag),
        r#"{"draft": {"title": "v2"}, "editing": 41}"#,
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let second_tag = etag(&second);
    assert_ne!(second_tag, first_tag);

    // A save made from the old version is refused, and nothing changes.
    let stale = put_draft(
        &t,
        &t.a,
        Some(&first_tag),
        r#"{"draft": {"title": "lost update"}}"#,
    )
    .await;
    let error = stale.error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    assert!(error["message"].as_str().unwrap().contains("changed"));
    let now = get_draft(&t, &t.a).await.json();
    assert_eq!(now["draft"], json!({"title": "v2"}));
    assert_eq!(now["editing"], 41);
    // `*` means "some draft exists"; a list may name the current tag among others.
    let star = put_draft(&t, &t.a, Some("*"), r#"{"draft": {"title": "v3"}}"#).await;
    assert_eq!(star.status, StatusCode::OK, "{}", star.text());
    let third_tag = etag(&star);
    let listed = format!("{first_tag}, {third_tag}");
    let r = put_draft(&t, &t.a, Some(&listed), r#"{"draft": {"title": "v4"}}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let fourth_tag = etag(&r);
    // A weak tag never matches If-Match.
    put_draft(
        &t,
        &t.a,
        Some(&format!("W/{fourth_tag}")),
        r#"{"draft": {}}"#,
    )
    .await
    .error(StatusCode::PRECONDITION_FAILED, "precondition_failed");

    // Delete: a stale tag is refused; then 204, then 404; deleting again is still 204.
    draft_req(
        &t,
        Method::DELETE,
        &t.a,
        Role::Editor,
        &[("if-match", third_tag.as_str())],
        None,
    )
    .await
    .error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    let deleted = draft_req(
        &t,
        Method::DELETE,
        &t.a,
        Role::Editor,
        &[("if-match", fourth_tag.as_str())],
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    get_draft(&t, &t.a)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let again = draft_req(&t, Method::DELETE, &t.a, Role::Editor, &[], None).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    // With no draft, any If-Match fails (RFC 9110), `*` included.
    put_draft(&t, &t.a, Some("*"), r#"{"draft": {}}"#)
        .await
        .error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    put_draft(&t, &t.a, Some(&fourth_tag), r#"{"draft": {}}"#)
        .await
        .error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    get_draft(&t, &t.a)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
});

both_backends!(a_first_save_never_replaces_another_tabs_draft, |t| {
    // `If-None-Match: *`: create only. The first tab's save succeeds...
    const CREATE_ONLY: &[(&str, &str)] = &[("if-none-match", "*")];
    let body = format!(r#"{{"draft": {DRAFT}, "editing": null}}"#);
    let put = |headers: &'static [(&'static str, &'static str)], body: String| {
        let t = &t;
        async move {
            draft_req(
                t,
                Method::PUT,
                &t.a,
                Role::Editor,
                headers,
                Some(body.as_bytes()),
            )
            .await
        }
    };
    let first = put(CREATE_ONLY, body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    // ...a second tab that has never seen a draft gets 412 and the first draft stays.
    put(
        CREATE_ONLY,
        r#"{"draft": {"title": "other tab"}, "editing": null}"#.to_owned(),
    )
    .await
    .error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    assert_eq!(etag(&get_draft(&t, &t.a).await), etag(&first));
    // Both conditions at once make no sense.
    put(&[("if-none-match", "*"), ("if-match", "*")], body)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
});

both_backends!(draft_body_errors_in_our_shape, |t| {
    // 422: `draft` not an object (every bad member named at once), or missing.
    for body in [
        r#"{"draft": [1, 2]}"#,
        r#"{"draft": "title"}"#,
        r#"{"draft": null}"#,
        r#"{"editing": 3}"#,
    ] {
        put_draft(&t, &t.a, None, body).await.invalid(&["draft"]);
    }
    let fields = put_draft(&t, &t.a, None, r#"{"draft": 5, "editing": "seven"}"#)
        .await
        .invalid(&["draft", "editing"]);
    assert_eq!(fields.as_object().unwrap().len(), 2);
    put_draft(&t, &t.a, None, r#"{"draft": {}, "editing": -1}"#)
        .await
        .invalid(&["editing"]);
    // 400: not JSON, or not an object.
    put_draft(&t, &t.a, None, r#"{"draft": {"#)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    put_draft(&t, &t.a, None, "[]")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    // 413 over 256 KiB (the limit itself is fine).
    let pad = |n: usize| format!(r#"{{"draft": {{"text": "{}"}}}}"#, "x".repeat(n));
    let overhead = pad(0).len();
    let at_limit = pad(256 * 1024 - overhead);
    assert_eq!(at_limit.len(), 256 * 1024);
    let r = put_draft(&t, &t.a, None, &at_limit).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let over = pad(256 * 1024 - overhead + 1);
    let error = put_draft(&t, &t.a, None, &over)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(error["message"].as_str().unwrap().contains("262144"));
    // 415: not JSON.
    let r = t
        .send(
            t.req(Method::PUT, "/external/draft", &t.a, Role::Editor)
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(r#"{"draft": {}}"#))
                .unwrap(),
        )
        .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Nothing above replaced the draft saved at the limit.
    assert_eq!(
        get_draft(&t, &t.a).await.json()["draft"]["text"]
            .as_str()
            .unwrap()
            .len(),
        256 * 1024 - overhead
    );
});

both_backends!(draft_roles_and_tenants, |t| {
    // Viewers read, editors and owners write; no credentials: 401.
    let body = br#"{"draft": {"title": "A's"}}"#;
    for method in [Method::PUT, Method::DELETE] {
        draft_req(&t, method, &t.a, Role::Viewer, &[], Some(body))
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
    }
    let r = draft_req(&t, Method::PUT, &t.a, Role::Owner, &[], Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let a_tag = etag(&r);
    let r = draft_req(&t, Method::GET, &t.a, Role::Owner, &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    t.send(Request::get("/external/draft").body(Body::empty()).unwrap())
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");

    // Project B sees none of A's draft, and its writes never touch A's.
    get_draft(&t, &t.b)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    put_draft(&t, &t.b, Some(&a_tag), r#"{"draft": {"title": "B's"}}"#)
        .await
        .error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    let r = put_draft(&t, &t.b, None, r#"{"draft": {"title": "B's"}}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(get_draft(&t, &t.b).await.json()["draft"]["title"], "B's");
    assert_eq!(get_draft(&t, &t.a).await.json()["draft"]["title"], "A's");
    let r = draft_req(&t, Method::DELETE, &t.b, Role::Editor, &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(get_draft(&t, &t.a).await.json()["draft"]["title"], "A's");
    assert_eq!(etag(&get_draft(&t, &t.a).await), a_tag);
    // One draft per project: a second save replaces the first.
    put_draft(&t, &t.a, None, r#"{"draft": {"title": "again"}}"#).await;
    assert_eq!(
        get_draft(&t, &t.a).await.json()["draft"],
        json!({"title": "again"})
    );
});

// ---------------------------------------------------------------- media

both_backends!(uploads_each_format_and_serves_it, |t| {
    /// (name, bytes, content type, (width, height))
    type Case = (&'static str, Vec<u8>, &'static str, (u64, u64));
    let files: [Case; 4] = [
        ("a.png", images::png(600, 240), "image/png", (600, 240)),
        ("b.jpg", images::jpeg(300, 200), "image/jpeg", (300, 200)),
        ("c.webp", images::webp(1200, 800), "image/webp", (1200, 800)),
        ("d.gif", images::gif(640, 480), "image/gif", (640, 480)),
    ];
    let ext = |ct: &str| match ct {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "gif",
    };
    for (name, bytes, content_type, (width, height)) in &files {
        // The client's name and content type are ignored (always `x.bin`, octet-stream).
        let r = upload(&t, "", "x.bin", bytes).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text());
        let v = r.json();
        let file = format!("{}.{}", sha256_hex(bytes), ext(content_type));
        assert_eq!(
            v,
            json!({
                "url": format!("http://{HOST}/media/{file}"),
                "width": width,
                "height": height,
                "bytes": bytes.len(),
                "contentType": content_type,
                "warnings": [],
            }),
            "{name}"
        );
        // Stored content-addressed in the media directory.
        let on_disk = t.static_dir.path().join("media").join(&file);
        assert_eq!(std::fs::read(&on_disk).unwrap(), *bytes, "{name}");

        // Served from the same store, with the headers host pages need.
        let served = get_public(&t, &format!("/media/{file}"), &[]).await;
        assert_eq!(served.status, StatusCode::OK, "{name}: {}", served.text());
        assert_eq!(served.body, *bytes, "{name}");
        assert_eq!(served.header("content-type"), Some(*content_type));
        assert_eq!(
            served.header("content-length"),
            Some(bytes.len().to_string().as_str())
        );
        assert_eq!(
            served.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(served.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            served.header("cross-origin-resource-policy"),
            Some("cross-origin")
        );
        assert_eq!(served.header("content-encoding"), None);
        let tag = served.header("etag").unwrap().to_owned();
        assert_eq!(tag, format!("\"{}\"", sha256_hex(bytes)));
        let cached = get_public(&t, &format!("/media/{file}"), &[("if-none-match", &tag)]).await;
        assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
        assert!(cached.body.is_empty());
        assert_eq!(
            cached.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );

        // Uploading the same bytes again (any project, any role allowed) answers the same URL.
        let again = upload_as(&t, &t.b, Role::Owner, "?template=10", "other.name", bytes).await;
        assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
        assert_eq!(again.json()["url"], v["url"]);
    }
    let stored = std::fs::read_dir(t.static_dir.path().join("media"))
        .unwrap()
        .count();
    assert_eq!(stored, 4, "one file per distinct image");

    // The URL is a valid `pic`: a banner offer with it is accepted.
    let url = upload(&t, "?template=11", "b.png", &files[0].1)
        .await
        .json()["url"]
        .clone();
    let offer = json!({
        "template": 11, "pic": url, "link": "https://example.com/",
        "startTime": "2024-05-22T12:00:01.000Z", "type": "GLOBAL"
    });
    assert_eq!(t.create_a(&offer).await["offer"]["pic"], url);

    // Unknown or malformed names: 404 in our shape.
    let missing = format!("/media/{}.png", "0".repeat(64));
    for path in [
        missing.as_str(),
        "/media/x.png",
        "/media/..%2Foffers.db",
        "/media/",
    ] {
        get_public(&t, path, &[])
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
});

both_backends!(upload_refusals_in_our_shape, |t| {
    // A text file named .png, sent as image/png: 415, naming the accepted types.
    let (content_type, body) = file_multipart(
        "file",
        "evil.png",
        "image/png",
        b"<svg onload=alert(1)> this is text, not an image",
    );
    let r = t
        .send(
            t.req(Method::POST, "/external/media", &t.a, Role::Editor)
                .header(header::HOST, HOST)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let message = error["message"].as_str().unwrap();
    for name in ["image/png", "image/jpeg", "image/webp", "image/gif"] {
        assert!(message.contains(name), "{message}");
    }
    // Other formats by signature: BMP, SVG, PDF, empty.
    for bytes in [
        &b"BM\x36\0\0\0\0\0\0\0"[..],
        b"<?xml version=\"1.0\"?><svg/>",
        b"%PDF-1.7",
        b"",
    ] {
        upload(&t, "", "x.png", bytes)
            .await
            .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    // The right signature but no readable header: 422 naming `file`.
    upload(&t, "", "x.png", b"\x89PNG\r\n\x1a\n\0\0")
        .await
        .invalid(&["file"]);
    // No `file` part: 422 naming it.
    let (content_type, body) = file_multipart("image", "a.png", "image/png", &images::png(2, 2));
    let r = t
        .send(
            t.req(Method::POST, "/external/media", &t.a, Role::Editor)
                .header(header::HOST, HOST)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    r.invalid(&["file"]);
    // Not multipart: 415.
    let r = t
        .json(
            Method::POST,
            "/external/media",
            &t.a,
            Role::Editor,
            &json!({"file": "x"}),
        )
        .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // A bad template: 400 naming it.
    let error = upload(&t, "?template=9", "a.png", &images::png(2, 2))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(error["fields"].get("template").is_some(), "{error}");
    // Roles: viewers may not upload; no credentials: 401.
    upload_as(&t, &t.a, Role::Viewer, "", "a.png", &images::png(2, 2))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    let (content_type, body) = file_multipart("file", "a.png", "image/png", &images::png(2, 2));
    t.send(
        Request::post("/external/media")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Nothing was stored by any of these.
    let media = t.static_dir.path().join("media");
    assert_eq!(std::fs::read_dir(&media).unwrap().count(), 0);
});

both_backends!(upload_size_limit_is_10_mib, |t| {
    // A PNG header followed by padding: exactly the limit is accepted…
    let mut big = images::png(1, 1);
    big.resize(MAX_IMAGE_BYTES, 0);
    let r = upload(&t, "", "big.png", &big).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["bytes"], MAX_IMAGE_BYTES);
    // …one byte more is a 413 in our shape (the route's body limit is above 10 MiB)…
    big.push(0);
    let error = upload(&t, "", "big.png", &big)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(error["message"].as_str().unwrap().contains("10485760"));
    // …and so is a body far over the route's limit.
    big.resize(MAX_IMAGE_BYTES + 512 * 1024, 0);
    upload(&t, "", "big.png", &big)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Other routes keep their 1 MiB limit.
    let (content_type, body) = file_multipart("title", "x", "text/plain", &vec![b'x'; 2 << 20]);
    t.send(
        t.req(Method::POST, "/external/offer", &t.a, Role::Owner)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
    .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
});

both_backends!(upload_warns_about_proportions, |t| {
    let cases: [(&str, Vec<u8>, Option<&str>); 9] = [
        (
            "?template=11",
            images::png(800, 800),
            Some("the image is 800×800; template 11 expects 600×240 proportions"),
        ),
        ("?template=11", images::png(600, 240), None),
        ("?template=11", images::jpeg(1200, 480), None),
        // 2.5 ± 2 %: 612×240 (2.55) fits, 613×240 does not.
        ("?template=11", images::gif(612, 240), None),
        (
            "?template=11",
            images::gif(613, 240),
            Some("the image is 613×240; template 11 expects 600×240 proportions"),
        ),
        ("?template=12", images::webp(600, 400), None),
        (
            "?template=13",
            images::webp(600, 240),
            Some("the image is 600×240; template 13 expects 600×400 proportions"),
        ),
        (
            "?template=14",
            images::jpeg(400, 600),
            Some("the image is 400×600; template 14 expects 600×400 proportions"),
        ),
        // Text offers have no picture, and no template: no opinion.
        ("?template=10", images::png(800, 800), None),
    ];
    for (query, bytes, warning) in cases {
        let r = upload(&t, query, "x", &bytes).await;
        assert_eq!(r.status, StatusCode::CREATED, "{query}: {}", r.text());
        let expected: Vec<&str> = warning.into_iter().collect();
        assert_eq!(r.json()["warnings"], json!(expected), "{query}");
    }
    let r = upload(&t, "", "x", &images::png(800, 800)).await;
    assert_eq!(r.json()["warnings"], json!([]));
});

/// `--public-url` and trusted forwarding headers decide the URL's base.
#[tokio::test]
async fn upload_urls_use_the_public_url_or_the_forwarded_scheme() {
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start_with(db, |s| {
            s.public_url = Some("https://cdn.example/offers".to_owned());
        })
        .await;
        let png = images::png(3, 3);
        let r = upload(&t, "", "x.png", &png).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let url = r.json()["url"].as_str().unwrap().to_owned();
        assert_eq!(
            url,
            format!("https://cdn.example/offers/media/{}.png", sha256_hex(&png))
        );
        assert_eq!(
            get_public(&t, &media_path(&url).replace("/offers", ""), &[])
                .await
                .status,
            StatusCode::OK
        );
    })
    .await;
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start_with(db, |s| s.trust_forwarded_for = true).await;
        let (content_type, body) = file_multipart("file", "a", "image/gif", &images::gif(2, 2));
        let r = t
            .send(
                t.req(Method::POST, "/external/media", &t.a, Role::Editor)
                    .header(header::HOST, "10.0.0.5:8080")
                    .header("x-forwarded-proto", "https")
                    .header("x-forwarded-host", "offers.example.com")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert!(
            r.json()["url"]
                .as_str()
                .unwrap()
                .starts_with("https://offers.example.com/media/")
        );
        // Without trust, the headers are ignored; a Host that makes no URL is a 400.
        let t2 = TestApp::start(Arc::clone(&t.db)).await;
        let (content_type, body) = file_multipart("file", "a", "image/gif", &images::gif(2, 2));
        let r = t2
            .send(
                t2.req(Method::POST, "/external/media", &t2.a, Role::Editor)
                    .header(header::HOST, "bad host")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        r.error(StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}

/// The handlers over object_store's in-memory store (nothing on disk).
#[tokio::test]
async fn uploads_through_an_in_memory_store() {
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start_with(db, |s| s.media = MediaLocation::Memory).await;
        let webp = images::webp(600, 400);
        let r = upload(&t, "?template=12", "x", &webp).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let served = get_public(&t, &media_path(r.json()["url"].as_str().unwrap()), &[]).await;
        assert_eq!((served.status, served.body), (StatusCode::OK, webp));
        assert!(!t.static_dir.path().join("media").exists());
        // A store handed in directly works the same.
        let store = offers_api::store::connect(&t.db.url).await.unwrap();
        let state = offers_api::AppState::with_media(
            store,
            memory_media_settings(),
            MediaStore::open(&MediaLocation::Memory).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(state.media().location(), "memory");
    })
    .await;
}

// ---------------------------------------------------------------- explain

fn ts(t: DateTime<Utc>) -> String {
    format_timestamp(&t)
}

async fn explain(t: &TestApp, creds: &Creds, query: &str) -> Resp {
    t.send(
        t.req(
            Method::GET,
            &format!("/external/explain{query}"),
            creds,
            Role::Viewer,
        )
        .body(Body::empty())
        .unwrap(),
    )
    .await
}

fn failing(offer: &Value) -> Vec<String> {
    offer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn offer_in(r: &Value, id: i64) -> &Value {
    r["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["offerId"] == id)
        .unwrap_or_else(|| panic!("offer {id} not explained: {r}"))
}

async fn impression(t: &TestApp, offer: i64, user: &str, at: DateTime<Utc>) {
    let event = NewEvent {
        id: offers_api::auth::random_hex(8),
        offer_id: offer,
        kind: EventKind::Impression,
        room: "r1".into(),
        user: Some(user.into()),
        at,
        variant: None,
    };
    let stored = t
        .store
        .insert_events(t.a.project.id, &[event], Utc::now())
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

async fn opt_out(t: &TestApp, user: &str) {
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &json!({"decryptedUserId": user, "value": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

both_backends!(explain_lists_every_reason, |t| {
    // The instant judged: a minute ago (so recorded impressions are in the past), at ms precision.
    let at = offers_core::parse_timestamp(&ts(Utc::now() - TimeDelta::minutes(1))).unwrap();
    let live_daily = json!({"showMultipleTimes": true, "showFrerquency": "DAILY"});
    let id = |v: Value| v["offer"]["id"].as_i64().unwrap();
    // One offer per failing rule, one that fails them all, one that is shown.
    let shown = id(t.create_a(&with(&text_offer(), live_daily.clone())).await);
    let future = id(t
        .create_a(&with(
            &text_offer(),
            json!({"title": "Future", "startTime": ts(at + TimeDelta::days(2)), "showMultipleTimes": true}),
        ))
        .await);
    let elsewhere = id(t
        .create_a(&with(
            &text_offer(),
            json!({"title": "Elsewhere", "type": "ROOM", "externalRoomIds": ["r-other"], "showMultipleTimes": true}),
        ))
        .await);
    let daily = id(t
        .create_a(&with(
            &text_offer(),
            json!({"title": "Daily", "showMultipleTimes": true, "showFrerquency": "DAILY"}),
        ))
        .await);
    let all = id(t
        .create_a(&with(
            &text_offer(),
            json!({"title": "All wrong", "type": "ROOM", "externalRoomIds": ["r-other"],
                   "startTime": ts(at + TimeDelta::days(2)), "showMultipleTimes": false}),
        ))
        .await);
    let personal = id(t
        .create_a(&with(
            &text_offer(),
            json!({"title": "Personal", "type": "USER", "externalUserIds": ["u1"], "showMultipleTimes": true}),
        ))
        .await);
    // u1 saw `daily` earlier today (at `at` itself: the same day whatever the time);
    // u-out saw `all`, then opted out.
    impression(&t, daily, "u1", at).await;
    impression(&t, all, "u-out", at - TimeDelta::hours(30)).await;
    opt_out(&t, "u-out").await;

    // u1 in r1: each offer fails only its own rule.
    let r = explain(&t, &t.a, &format!("?room=r1&user=u1&at={}", ts(at))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["room"], "r1");
    assert_eq!(v["user"], "u1");
    assert_eq!(v["at"], ts(at));
    assert_eq!(v["optedOut"], false);
    let ids: Vec<i64> = v["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offerId"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [personal, all, daily, elsewhere, future, shown],
        "newest first"
    );
    for o in v["offers"].as_array().unwrap() {
        let rules: Vec<&str> = o["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["rule"].as_str().unwrap())
            .collect();
        assert_eq!(
            rules,
            ["schedule", "audience", "optOut", "frequency"],
            "{o}"
        );
        assert_eq!(o["shown"], failing(o).is_empty(), "{o}");
        assert!(
            o["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["detail"].as_str().is_some_and(|d| !d.is_empty()))
        );
        assert_eq!(o["template"], 10);
    }
    let o = offer_in(&v, shown);
    assert_eq!(
        (o["shown"].clone(), o["status"].clone()),
        (json!(true), json!("live"))
    );
    assert_eq!(o["title"], "Title");
    assert_eq!(offer_in(&v, personal)["shown"], true);
    let o = offer_in(&v, future);
    assert_eq!(failing(o), ["schedule"]);
    assert_eq!(o["status"], "scheduled");
    assert!(
        o["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("scheduled: starts")
    );
    let o = offer_in(&v, elsewhere);
    assert_eq!(failing(o), ["audience"]);
    assert_eq!(
        o["checks"][1]["detail"],
        "ROOM: room `r1` is not one of the offer's rooms (`r-other`)"
    );
    let o = offer_in(&v, daily);
    assert_eq!(failing(o), ["frequency"]);
    let detail = o["checks"][3]["detail"].as_str().unwrap();
    assert_eq!(
        detail,
        format!(
            "shown 1 time, last {}; DAILY allows the next display tomorrow",
            at.format("%Y-%m-%d %H:%M UTC")
        )
    );

    // Before that impression, DAILY allows it; impressions after `at` are not counted.
    let r = explain(
        &t,
        &t.a,
        &format!(
            "?room=r1&user=u1&at={}",
            ts(at - TimeDelta::milliseconds(1))
        ),
    )
    .await;
    assert!(failing(offer_in(&r.json(), daily)).is_empty());

    // u-out (opted out) in r1: the plain offer fails only the opt-out; `all` fails everything.
    let v = explain(&t, &t.a, &format!("?room=r1&user=u-out&at={}", ts(at)))
        .await
        .json();
    assert_eq!(v["optedOut"], true);
    assert_eq!(failing(offer_in(&v, shown)), ["optOut"]);
    assert_eq!(
        offer_in(&v, shown)["checks"][2]["detail"],
        "the user opted out of offers: no offer is shown to them"
    );
    let o = offer_in(&v, all);
    assert_eq!(failing(o), ["schedule", "audience", "optOut", "frequency"]);
    assert_eq!(o["shown"], false);
    assert!(
        o["checks"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("shown only once"),
        "{o}"
    );
    assert!(
        v["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["shown"] == false)
    );

    // Anonymous in r-other: the room offer is shown, the personal one is not.
    let v = explain(&t, &t.a, &format!("?room=r-other&at={}", ts(at)))
        .await
        .json();
    assert_eq!(v["user"], Value::Null);
    assert_eq!(offer_in(&v, elsewhere)["shown"], true);
    let o = offer_in(&v, personal);
    assert_eq!(failing(o), ["audience"]);
    assert!(
        o["checks"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("anonymous")
    );

    // After it ends: status `ended`. (Default `at`: now.)
    let r = explain(&t, &t.a, "?room=r1&user=u1&utcOffset=-300").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(offer_in(&r.json(), future)["status"], "scheduled");
    let later = ts(at + TimeDelta::days(3650));
    let v = explain(&t, &t.a, &format!("?room=r1&at={later}"))
        .await
        .json();
    assert_eq!(offer_in(&v, future)["status"], "live");

    // Other projects' offers never appear; B has none.
    let v = explain(&t, &t.b, "?room=r1&user=u1").await.json();
    assert_eq!(v["offers"], json!([]));
});

both_backends!(explain_parameter_errors, |t| {
    let error = explain(&t, &t.a, "?user=u1")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(error["fields"].get("room").is_some(), "{error}");
    assert!(error["message"].as_str().unwrap().contains("`room`"));
    let error = explain(&t, &t.a, "?room=r1&at=yesterday&utcOffset=5000")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let fields = error["fields"].as_object().unwrap();
    assert!(
        fields.contains_key("at") && fields.contains_key("utcOffset"),
        "{error}"
    );
    t.send(
        Request::get("/external/explain?room=r1")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthorized");
});

// ---------------------------------------------------------------- figures per local day

both_backends!(stats_days_follow_the_callers_utc_offset, |t| {
    let id = t.create_a_id(&text_offer()).await;
    // Yesterday 00:30 and 23:30 UTC: one UTC day, but two days at UTC+2 and at UTC-2.
    let today: NaiveDate = Utc::now().date_naive();
    let yesterday = today - Days::new(1);
    let at = |d: NaiveDate, h, m| d.and_hms_opt(h, m, 0).unwrap().and_utc();
    impression(&t, id, "u1", at(yesterday, 0, 30)).await;
    impression(&t, id, "u2", at(yesterday, 23, 30)).await;
    let days = |v: &Value| -> Vec<(String, i64)> {
        v["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["date"].as_str().unwrap().to_owned(),
                    d["impressions"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let stats = |query: String| {
        let t = &t;
        async move {
            let r = t
                .send(
                    t.req(
                        Method::GET,
                        &format!("/external/offer/{id}/stats{query}"),
                        &t.a,
                        Role::Viewer,
                    )
                    .body(Body::empty())
                    .unwrap(),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
            r.json()
        }
    };
    let d = |date: NaiveDate| date.format("%Y-%m-%d").to_string();
    let before = yesterday - Days::new(1);

    let v = stats(String::new()).await;
    assert_eq!(days(&v), [(d(yesterday), 2)]);
    let v = stats("?utcOffset=120".into()).await;
    assert_eq!(days(&v), [(d(yesterday), 1), (d(today), 1)]);
    assert_eq!(v["impressions"], 2);
    let v = stats("?utcOffset=-120".into()).await;
    assert_eq!(days(&v), [(d(before), 1), (d(yesterday), 1)]);
    // `from`/`to` are local days: at UTC+2 today holds only the 23:30 UTC impression.
    let v = stats(format!("?utcOffset=120&from={}&to={}", d(today), d(today))).await;
    assert_eq!(
        (v["impressions"].clone(), v["uniqueUsers"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(days(&v), [(d(today), 1)]);
    // Zero-filled across the range.
    let v = stats(format!(
        "?utcOffset=120&from={}&to={}",
        d(before - Days::new(1)),
        d(today)
    ))
    .await;
    assert_eq!(
        days(&v),
        [
            (d(before - Days::new(1)), 0),
            (d(before), 0),
            (d(yesterday), 1),
            (d(today), 1)
        ]
    );
    // Out of range: 400 naming it.
    let r = t
        .send(
            t.req(
                Method::GET,
                &format!("/external/offer/{id}/stats?utcOffset=2000"),
                &t.a,
                Role::Viewer,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(error["fields"].get("utcOffset").is_some());
});

// ---------------------------------------------------------------- docs

#[tokio::test]
async fn openapi_describes_the_studio_endpoints() {
    let doc =
        serde_json::to_value(<offers_api::http::openapi::ApiDoc as utoipa::OpenApi>::openapi())
            .unwrap();
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/external/draft", &["get", "put", "delete"][..]),
        ("/external/media", &["post"][..]),
        ("/media/{name}", &["get"][..]),
        ("/external/explain", &["get"][..]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} missing");
        }
    }
    assert!(
        paths["/external/media"]["post"]["requestBody"]["content"]
            .get("multipart/form-data")
            .is_some()
    );
    for code in ["201", "413", "415", "422"] {
        assert!(
            paths["/external/media"]["post"]["responses"]
                .get(code)
                .is_some(),
            "{code}"
        );
    }
    assert!(
        paths["/external/draft"]["put"]["responses"]
            .get("412")
            .is_some()
    );
    let stats_params: Vec<&str> = paths["/external/offer/{offerId}/stats"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(stats_params.contains(&"utcOffset"));
    for schema in [
        "Uploaded",
        "Draft",
        "DraftInput",
        "DraftSaved",
        "ExplainResponse",
        "ExplainedOffer",
        "Check",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema} missing"
        );
    }
    let props = &doc["components"]["schemas"]["ExplainResponse"]["properties"];
    for key in ["room", "user", "at", "optedOut", "offers"] {
        assert!(props.get(key).is_some(), "{key}");
    }
}

// ---------------------------------------------------------------- S3 (moto, real binary)

/// `moto_server`: `$OFFERS_TEST_MOTO_SERVER`, the project's venv under `target/`, or `PATH`.
fn moto_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OFFERS_TEST_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = workspace.join("target/moto-venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|p| p.exists())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A process killed when dropped.
struct Killed(tokio::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts moto on a free loopback port and waits until it answers; `Err(reason)` otherwise.
async fn start_moto() -> Result<(Killed, String), String> {
    let bin = moto_server().ok_or(
        "moto_server not found (install it: python3 -m venv target/moto-venv && \
         target/moto-venv/bin/pip install 'moto[server]')",
    )?;
    let port = free_port();
    let child = tokio::process::Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut child = Killed(child);
    let addr = format!("127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!("{} exited at start: {status}", bin.display()));
        }
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return Ok((child, addr));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "{} did not listen on {addr} within 30 s",
                bin.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `offers-api serve --media-store s3://bucket/prefix` against moto, configured only by the
/// standard AWS_* variables: upload, serve, and the object where S3 clients see it.
#[tokio::test]
async fn s3_media_store_through_the_binary() {
    let (_moto, moto_addr) = match start_moto().await {
        Ok(started) => started,
        Err(reason) => {
            eprintln!("SKIPPED s3_media_store_through_the_binary: {reason}");
            return;
        }
    };
    // moto accepts unsigned requests: create the bucket.
    let (status, _, body) = http_request(
        &moto_addr,
        &format!("PUT /offers-media HTTP/1.1\r\nHost: {moto_addr}\r\nContent-Length: 0\r\n\r\n"),
        b"",
    )
    .await;
    assert_eq!(
        status,
        200,
        "create bucket: {}",
        String::from_utf8_lossy(&body)
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("offers.db").display());
    let bin = env!("CARGO_BIN_EXE_offers-api");
    let created = tokio::process::Command::new(bin)
        .args(["project", "create", "--name", "S3", "--database-url", &url])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let project: Value = serde_json::from_slice(&created.stdout).unwrap();
    let endpoint = format!("http://{moto_addr}");
    let mut serve = tokio::process::Command::new(bin);
    serve
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", &url])
        .args(["--media-store", "s3://offers-media/uploads/v1"])
        .args(["--public-url", "https://img.example/"])
        .args(["--widget-dir", &dir.path().join("w").display().to_string()])
        .env_remove("OFFERS_MEDIA_DIR")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ALLOW_HTTP", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = serve.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Killed(child);
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            banner.push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.trim().to_owned();
            }
        }
        panic!("serve exited: {banner:?}");
    })
    .await
    .expect("serve listens within 60 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    assert!(
        banner
            .iter()
            .any(|l| l == "Uploaded images: s3://offers-media/uploads/v1"),
        "{banner:?}"
    );

    let png = images::png(600, 240);
    let (content_type, body) = file_multipart("file", "banner.png", "image/png", &png);
    let head = format!(
        "POST /external/media?template=11 HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        project["apiKey"].as_str().unwrap(),
        project["token"].as_str().unwrap(),
        body.len()
    );
    let (status, _, answer) = http_request(&addr, &head, &body).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let uploaded: Value = serde_json::from_slice(&answer).unwrap();
    let file = format!("{}.png", sha256_hex(&png));
    assert_eq!(uploaded["url"], format!("https://img.example/media/{file}"));
    assert_eq!(uploaded["warnings"], json!([]));

    // In the bucket, under the prefix, as another S3 client (signed requests) sees it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name("offers-media")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    use object_store::ObjectStoreExt;
    let key = object_store::path::Path::from(format!("uploads/v1/{file}"));
    let stored = s3.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.as_ref(), png.as_slice());

    // Served back through the same store.
    let (status, head, served) = http_request(
        &addr,
        &format!("GET /media/{file} HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
        b"",
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(served, png);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: image/png"), "{head}");
    assert!(head.contains("cache-control: public, max-age=31536000, immutable"));
    // Re-uploading the same bytes answers the same URL.
    let head = format!(
        "POST /external/media HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        project["apiKey"].as_str().unwrap(),
        project["token"].as_str().unwrap(),
        body.len()
    );
    let (status, _, again) = http_request(&addr, &head, &body).await;
    assert_eq!(status, 201);
    assert_eq!(
        serde_json::from_slice::<Value>(&again).unwrap()["url"],
        uploaded["url"]
    );
}
