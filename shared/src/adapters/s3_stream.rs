//! Writing a large object to the bucket in constant memory (S3 multipart upload: parts of
//! `PART_BYTES`, the last one smaller), and presigned GETs to hand it to a browser.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::s3::{BlobError, Blobs, sdk_err};

/// Size of each uploaded part (S3's minimum is 5 MiB for every part but the last).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// An object being written part by part. At most one part is held in memory.
#[derive(Debug)]
pub struct ObjectWriter {
    blobs: Blobs,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    buf: Vec<u8>,
    /// Bytes written so far.
    pub bytes: u64,
}

impl Blobs {
    /// Start writing `key` with this content type and Content-Disposition.
    pub async fn start_object(&self, key: &str, content_type: &str, disposition: &str) -> Result<ObjectWriter, BlobError> {
        let out = self
            .client()
            .create_multipart_upload()
            .bucket(self.bucket())
            .key(key)
            .content_type(content_type)
            .content_disposition(disposition)
            .send()
            .await
            .map_err(sdk_err)?;
        let upload_id = out.upload_id().ok_or_else(|| BlobError::Sdk("no upload id".into()))?.to_string();
        Ok(ObjectWriter { blobs: self.clone(), key: key.to_string(), upload_id, parts: Vec::new(), buf: Vec::with_capacity(PART_BYTES), bytes: 0 })
    }

    /// A presigned GET of `key`, valid for `expires`.
    pub async fn presign_get(&self, key: &str, expires: Duration) -> Result<String, BlobError> {
        let conf = PresigningConfig::expires_in(expires).map_err(|e| BlobError::Sdk(e.to_string()))?;
        let req = self.client().get_object().bucket(self.bucket()).key(key).presigned(conf).await.map_err(sdk_err)?;
        Ok(req.uri().to_string())
    }
}

impl ObjectWriter {
    /// Append bytes; a full part is uploaded before this returns.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.buf.extend_from_slice(bytes);
        self.bytes += bytes.len() as u64;
        if self.buf.len() >= PART_BYTES {
            self.upload_part().await?;
        }
        Ok(())
    }

    async fn upload_part(&mut self) -> Result<(), BlobError> {
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_BYTES));
        let out = self
            .blobs
            .client()
            .upload_part()
            .bucket(self.blobs.bucket())
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(sdk_err)?;
        self.parts.push(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag().map(str::to_string)).build());
        Ok(())
    }

    /// Upload what is left and complete the object.
    pub async fn finish(mut self) -> Result<u64, BlobError> {
        if !self.buf.is_empty() || self.parts.is_empty() {
            self.upload_part().await?;
        }
        self.blobs
            .client()
            .complete_multipart_upload()
            .bucket(self.blobs.bucket())
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(self.parts)).build())
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(self.bytes)
    }

    /// Give up: S3 drops the parts uploaded so far.
    pub async fn abort(self) {
        let _ = self
            .blobs
            .client()
            .abort_multipart_upload()
            .bucket(self.blobs.bucket())
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
    }
}
