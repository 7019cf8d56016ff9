//! Adapters to the outside world, over the AWS SDK clients built once per process.

pub mod dynamodb;
pub mod s3;
pub mod s3_stream;
pub mod scheduler;
pub mod sqs;
pub mod metrics;
