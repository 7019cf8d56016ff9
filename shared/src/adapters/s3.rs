//! The upload bucket: presigned PUTs for the browser, bounded reads for the ingest function,
//! prefix deletes when a campaign goes.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use bytes::Bytes;

/// The largest object `get_bytes` reads unless told otherwise (a contact file of ~1M rows).
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object not found")]
    NotFound,
    #[error("object is {size} bytes, more than the {max} allowed")]
    TooLarge { size: u64, max: u64 },
    #[error("s3: {0}")]
    Sdk(String),
}

/// A presigned request: the client sends `method` to `url` with exactly these headers.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PresignedPut {
    pub method: String,
    pub url: String,
    /// Headers the upload must carry (the signature covers them).
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// One object read whole.
#[derive(Debug, Clone)]
pub struct Object {
    pub bytes: Bytes,
    pub etag: Option<String>,
    pub content_type: Option<String>,
}

/// The bucket, over an S3 client built once per process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Blobs {
    client: Client,
    bucket: String,
    max_object_bytes: u64,
}

pub(crate) fn sdk_err<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    e: aws_sdk_s3::error::SdkError<E, R>,
) -> BlobError {
    BlobError::Sdk(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
}

impl Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
        }
    }

    /// Reads larger than this are refused before the body is fetched.
    pub fn with_max_object_bytes(mut self, max: u64) -> Self {
        self.max_object_bytes = max;
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A presigned PUT of `key`. The upload must send the same Content-Type (moto, and S3 with
    /// a signed content-type, store an empty body or refuse otherwise).
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedPut, BlobError> {
        let conf =
            PresigningConfig::expires_in(expires).map_err(|e| BlobError::Sdk(e.to_string()))?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(conf)
            .await
            .map_err(sdk_err)?;
        let mut headers: std::collections::BTreeMap<String, String> = req
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        headers
            .entry("content-type".to_string())
            .or_insert_with(|| content_type.to_string());
        let expires_at =
            chrono::Utc::now() + chrono::Duration::from_std(expires).unwrap_or_default();
        Ok(PresignedPut {
            method: req.method().to_string(),
            url: req.uri().to_string(),
            headers,
            expires_at,
        })
    }

    /// Read an object once, refusing one larger than the configured maximum (checked against
    /// Content-Length before the body is read, and again while reading).
    pub async fn get_bytes(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self.get(key).await?.bytes)
    }

    /// Like [`Self::get_bytes`], with the ETag and Content-Type.
    pub async fn get(&self, key: &str) -> Result<Object, BlobError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    return Err(BlobError::NotFound);
                }
                return Err(sdk_err(e));
            }
        };
        let max = self.max_object_bytes;
        if let Some(len) = out.content_length() {
            let size = u64::try_from(len).unwrap_or(0);
            if size > max {
                return Err(BlobError::TooLarge { size, max });
            }
        }
        let etag = out.e_tag().map(str::to_string);
        let content_type = out.content_type().map(str::to_string);
        // The whole object at once (no doubling copies): its length is known and within `max`.
        let len = out.content_length().and_then(|l| usize::try_from(l).ok()).unwrap_or(0);
        let mut body = out.body;
        let mut buf = bytes::BytesMut::with_capacity(len.min(usize::try_from(max).unwrap_or(usize::MAX)));
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| BlobError::Sdk(e.to_string()))?
        {
            if (buf.len() + chunk.len()) as u64 > max {
                return Err(BlobError::TooLarge {
                    size: (buf.len() + chunk.len()) as u64,
                    max,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Object {
            bytes: buf.freeze(),
            etag,
            content_type,
        })
    }

    /// Write an object (tests and the dev server; users upload through presigned URLs).
    pub async fn put_bytes(
        &self,
        key: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Delete every object under `prefix`. Returns how many were deleted.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError> {
        let mut deleted = 0u64;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(sdk_err)?;
            let ids: Vec<ObjectIdentifier> = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            if !ids.is_empty() {
                let n = ids.len() as u64;
                let delete = Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .map_err(|e| BlobError::Sdk(e.to_string()))?;
                self.client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(sdk_err)?;
                deleted += n;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(deleted),
            }
        }
    }

    /// Create the bucket if missing (local stack and tests). Idempotent.
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let mine = e.as_service_error().is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                });
                if mine { Ok(()) } else { Err(sdk_err(e)) }
            }
        }
    }
}

/// `uploads/<owner>/<campaign_id>/`: everything uploaded for a campaign.
pub fn upload_prefix(owner: &str, campaign_id: &str) -> String {
    format!("uploads/{owner}/{campaign_id}/")
}
