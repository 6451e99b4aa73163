//! Uploaded images: what a file is (by its magic bytes, never by its name or the client's
//! content type), its dimensions (from the header, via `imagesize`), and where it is kept.
//!
//! Files are content-addressed: `<sha256 of the bytes, lowercase hex>.<ext>`, so uploading the
//! same image twice stores it once and answers the same URL, and a stored file never changes
//! (it is served as immutable). Storage goes through the `object_store` crate: a local
//! directory (the default, created if missing), an S3-compatible bucket (`s3://bucket/prefix`,
//! configured from the standard `AWS_*` environment variables), or memory (tests).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use object_store::{GetResult, ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

pub use offers_core::model::MAX_IMAGE_BYTES;

/// The accepted types, as named in a 415.
pub const ACCEPTED_IMAGE_TYPES: &str = "image/png, image/jpeg, image/webp or image/gif";

/// An accepted image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageFormat {
    /// Every accepted format.
    pub const ALL: [Self; 4] = [Self::Png, Self::Jpeg, Self::Webp, Self::Gif];

    /// Recognizes a file by its first bytes (its signature).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else {
            None
        }
    }

    /// The MIME type.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    /// The file extension of stored files.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }

    /// The format of a stored file's extension.
    pub fn from_extension(ext: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// `PNG`, `JPEG`, `WebP`, `GIF`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Webp => "WebP",
            Self::Gif => "GIF",
        }
    }
}

/// What an uploaded file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Why a file is not an image we take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    /// Not one of the four formats.
    UnsupportedType,
    /// The signature of a format, but no readable dimensions (truncated or corrupt).
    Unreadable(ImageFormat),
}

/// Identifies an image and reads its dimensions from its header (nothing is decoded).
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, ImageProblem> {
    let format = ImageFormat::sniff(bytes).ok_or(ImageProblem::UnsupportedType)?;
    let size = imagesize::blob_size(bytes).map_err(|_| ImageProblem::Unreadable(format))?;
    let (Ok(width), Ok(height)) = (u32::try_from(size.width), u32::try_from(size.height)) else {
        return Err(ImageProblem::Unreadable(format));
    };
    if width == 0 || height == 0 {
        return Err(ImageProblem::Unreadable(format));
    }
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// The content address of `bytes` stored as `format`: `<sha256 hex>.<ext>`.
pub fn object_name(bytes: &[u8], format: ImageFormat) -> String {
    let digest = Sha256::digest(bytes);
    format!("{}.{}", hex::encode(digest), format.extension())
}

/// The format of a well-formed object name (`<64 lowercase hex>.<ext>`), else `None`.
pub fn parse_object_name(name: &str) -> Option<ImageFormat> {
    let (hash, ext) = name.split_once('.')?;
    let hex = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex {
        ImageFormat::from_extension(ext)
    } else {
        None
    }
}

/// Where uploaded images are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLocation {
    /// A local directory (created if missing).
    Dir(PathBuf),
    /// An S3-compatible bucket, `s3://bucket[/prefix]`, configured from `AWS_*` variables.
    S3(String),
    /// Memory (lost on exit; for tests).
    Memory,
}

impl MediaLocation {
    /// The default directory: `offers-media` next to a SQLite database file, else in the
    /// working directory.
    pub fn default_dir(database_url: &str) -> PathBuf {
        const NAME: &str = "offers-media";
        match crate::store::sqlite_file(database_url) {
            Some(file) => file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from(NAME), |dir| dir.join(NAME)),
            None => PathBuf::from(NAME),
        }
    }
}

impl fmt::Display for MediaLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "directory {}", dir.display()),
            Self::S3(url) => write!(f, "{url}"),
            Self::Memory => f.write_str("memory"),
        }
    }
}

/// A media store that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The location is malformed.
    #[error("media store `{location}`: {reason}")]
    BadLocation { location: String, reason: String },
    /// The directory could not be created or opened.
    #[error("media directory {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `object_store` refused the configuration.
    #[error("media store {location}: {source}")]
    Store {
        location: String,
        source: object_store::Error,
    },
}

/// Splits `s3://bucket/some/prefix` into the bucket and the prefix (without slashes).
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .trim()
        .strip_prefix("s3://")
        .ok_or("expected s3://bucket[/prefix]")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = !bucket.is_empty()
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !valid_bucket {
        return Err("expected s3://bucket[/prefix] with a bucket name".into());
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|s| matches!(s, "." | "..")) || prefix.contains("//") {
        return Err("the prefix must not contain `.`/`..` segments or `//`".into());
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// The image store: cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaStore({})", self.location)
    }
}

impl MediaStore {
    /// Opens `location`: creates a directory if missing; builds an S3 client from the `AWS_*`
    /// environment variables (nothing is sent until the first upload).
    pub fn open(location: &MediaLocation) -> Result<Self, MediaError> {
        let store: Arc<dyn ObjectStore> = match location {
            MediaLocation::Memory => Arc::new(InMemory::new()),
            MediaLocation::Dir(dir) => Arc::new(open_dir(dir)?),
            MediaLocation::S3(url) => open_s3(url)?,
        };
        Ok(Self {
            store,
            location: location.to_string(),
        })
    }

    /// A store over any `object_store` backend (`location` names it in logs).
    pub fn from_object_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Self {
            store,
            location: location.into(),
        }
    }

    /// Where the files go, for logs.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores `bytes` as `name` unless an object of that name exists (content-addressed: it
    /// has the same bytes). `true` when written now.
    pub async fn put_if_absent(
        &self,
        name: &str,
        bytes: Bytes,
    ) -> Result<bool, object_store::Error> {
        let path = object_store::path::Path::from(name);
        match self.store.head(&path).await {
            Ok(_) => return Ok(false),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        self.store.put(&path, PutPayload::from(bytes)).await?;
        Ok(true)
    }

    /// The object `name`, or `None` when there is none.
    pub async fn get(&self, name: &str) -> Result<Option<GetResult>, object_store::Error> {
        match self.store.get(&object_store::path::Path::from(name)).await {
            Ok(found) => Ok(Some(found)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn open_dir(dir: &Path) -> Result<object_store::local::LocalFileSystem, MediaError> {
    std::fs::create_dir_all(dir).map_err(|source| MediaError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|source| MediaError::Store {
        location: dir.display().to_string(),
        source,
    })
}

fn open_s3(url: &str) -> Result<Arc<dyn ObjectStore>, MediaError> {
    let (bucket, prefix) = parse_s3_url(url).map_err(|reason| MediaError::BadLocation {
        location: url.to_owned(),
        reason,
    })?;
    // TLS for https endpoints: rustls with the ring provider (reqwest is built without one).
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(&bucket)
        .build()
        .map_err(|source| MediaError::Store {
            location: url.to_owned(),
            source,
        })?;
    Ok(if prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(PrefixStore::new(s3, prefix.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        assert_eq!(
            ImageFormat::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        assert_eq!(ImageFormat::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(ImageFormat::sniff(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(ImageFormat::sniff(b"GIF87a..."), Some(ImageFormat::Gif));
        assert_eq!(ImageFormat::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageFormat::sniff(b""), None);
        assert_eq!(
            inspect(b"\x89PNG\r\n\x1a\n"),
            Err(ImageProblem::Unreadable(ImageFormat::Png))
        );
        assert_eq!(inspect(b"hello"), Err(ImageProblem::UnsupportedType));
    }

    #[test]
    fn names() {
        let name = object_name(b"abc", ImageFormat::Png);
        assert_eq!(
            name,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.png"
        );
        assert_eq!(parse_object_name(&name), Some(ImageFormat::Png));
        for f in ImageFormat::ALL {
            assert_eq!(parse_object_name(&object_name(b"x", f)), Some(f));
        }
        for bad in [
            "",
            "x.png",
            "../etc/passwd",
            &name.replace(".png", ".svg"),
            &name.to_uppercase(),
            &format!("{name}.png"),
            &format!("a{name}"),
        ] {
            assert_eq!(parse_object_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn s3_urls() {
        assert_eq!(
            parse_s3_url("s3://bucket/a/b/"),
            Ok(("bucket".into(), "a/b".into()))
        );
        assert_eq!(
            parse_s3_url("s3://bucket"),
            Ok(("bucket".into(), "".into()))
        );
        for bad in [
            "s3://",
            "http://bucket",
            "s3:///x",
            "s3://b/../x",
            "s3://b/a//c",
        ] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_dir_is_next_to_the_sqlite_file() {
        assert_eq!(
            MediaLocation::default_dir("sqlite:///var/lib/offers/offers.db"),
            PathBuf::from("/var/lib/offers/offers-media")
        );
        assert_eq!(
            MediaLocation::default_dir("sqlite://offers.db"),
            PathBuf::from("offers-media")
        );
        assert_eq!(
            MediaLocation::default_dir("data/x.db"),
            PathBuf::from("data/offers-media")
        );
        assert_eq!(
            MediaLocation::default_dir("postgres://u@h/db"),
            PathBuf::from("offers-media")
        );
    }

    #[tokio::test]
    async fn memory_store_is_content_addressed() {
        let media = MediaStore::open(&MediaLocation::Memory).unwrap();
        let name = object_name(b"img", ImageFormat::Gif);
        assert!(
            media
                .put_if_absent(&name, Bytes::from_static(b"img"))
                .await
                .unwrap()
        );
        assert!(
            !media
                .put_if_absent(&name, Bytes::from_static(b"img"))
                .await
                .unwrap()
        );
        let got = media.get(&name).await.unwrap().unwrap();
        assert_eq!(got.bytes().await.unwrap(), Bytes::from_static(b"img"));
        assert!(media.get("missing.png").await.unwrap().is_none());
    }
}
