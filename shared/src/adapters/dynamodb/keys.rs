//! Key layout of the single table. Every key and attribute name is a constant here, so an
//! expression never spells one by hand.
//!
//! | item          | pk            | sk                 | gsi1 (by owner)            | gsi2 (active)     | gsi3 (work queue)                 |
//! |---------------|---------------|--------------------|----------------------------|-------------------|-----------------------------------|
//! | campaign      | `C#<id>`      | `META`             | `U#<owner>` / `<ms>#<id>`  | `ACTIVE#<shard>` / `<id>` while pending, running, paused | - |
//! | contact       | `C#<id>`      | `P#<e164>`         | -                          | -                 | `Q#<id>` / `<due ms>#<seq>` while dialable, `L#<id>` / `<lease ms>#<seq>` while calling |
//! | attempt       | `C#<id>`      | `A#<e164>#<nn>`    | -                          | -                 | -                                 |
//! | agent         | `U#<owner>`   | `AGENT#<id>`       | -                          | -                 | -                                 |
//! | idempotency   | `U#<owner>`   | `IDEM#<key>`       | -                          | -                 | - (expires by `ttl`)              |
//! | do-not-call   | `U#<owner>`   | `DNC#<e164>`       | -                          | -                 | -                                 |

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
pub const GSI3: &str = "gsi3";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";
pub const TTL: &str = "ttl";

pub const META: &str = "META";

/// Shards of the active-campaign index: spreads the tick's reads over partitions.
pub const ACTIVE_SHARDS: u32 = 4;

pub fn campaign_pk(id: &str) -> String {
    format!("C#{id}")
}
pub fn contact_sk(phone: &str) -> String {
    format!("P#{phone}")
}
pub const CONTACT_PREFIX: &str = "P#";
pub fn attempt_sk(phone: &str, n: u32) -> String {
    format!("A#{phone}#{n:02}")
}
pub const ATTEMPT_PREFIX: &str = "A#";
pub fn user_pk(owner: &str) -> String {
    format!("U#{owner}")
}
pub fn agent_sk(id: &str) -> String {
    format!("AGENT#{id}")
}
pub const AGENT_PREFIX: &str = "AGENT#";
pub fn idem_sk(key: &str) -> String {
    format!("IDEM#{key}")
}
pub fn dnc_sk(phone: &str) -> String {
    format!("DNC#{phone}")
}
pub fn owner_sort(created_ms: i64, id: &str) -> String {
    format!("{created_ms:015}#{id}")
}
pub fn active_pk(id: &str) -> String {
    // A stable shard from the id, so the same campaign always lands on the same shard.
    let h = id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("ACTIVE#{}", h % ACTIVE_SHARDS)
}
pub fn active_shard_pk(shard: u32) -> String {
    format!("ACTIVE#{shard}")
}
pub fn queue_pk(id: &str) -> String {
    format!("Q#{id}")
}
pub fn lease_pk(id: &str) -> String {
    format!("L#{id}")
}
/// Sort key in the work index: due time, then upload order, both fixed width so strings sort
/// like numbers.
pub fn work_sk(due_ms: i64, seq: u64) -> String {
    format!("{:015}#{seq:09}", due_ms.max(0))
}
/// Upper bound for "due at or before `ms`" in the work index.
pub fn work_sk_upto(ms: i64) -> String {
    format!("{:015}#~", ms.max(0))
}
