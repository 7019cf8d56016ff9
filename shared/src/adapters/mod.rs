//! Adapters to the outside world, over the AWS SDK clients built once per process.

pub mod dynamodb;
