//! Benchmark baseline (bench/feed.sh): bare axum answering `GET /widget/v1/offers` with a fixed
//! body and the same ETag / 304 handling as the real feed, so `wrk` can compare the real
//! feed with what the framework does on its own.
//!
//! Usage: `feed_baseline <addr> <body-file> <etag>`

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(body_file), Some(etag)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: feed_baseline <addr> <body-file> <etag>");
        std::process::exit(2);
    };
    let body: &'static [u8] = std::fs::read(&body_file).expect("body file").leak();
    let etag: &'static str = etag.leak();
    let app = Router::new().route(
        "/widget/v1/offers",
        get(move |headers: HeaderMap| async move {
            if headers
                .get(header::IF_NONE_MATCH)
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
            {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            let mut response: Response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::ETAG, HeaderValue::from_static(etag));
            response
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
